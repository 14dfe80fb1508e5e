// A Storage Commitment Push Model SCU on DCMTK's dcmnet: an implementation of the peer that shares
// no code with the gateway, so the integration tests check our SCP against someone else's reading
// of PS3.4 Annex J and PS3.7.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace countylink::testing {

struct CommitmentReference {
    std::string sop_class_uid, sop_instance_uid;
};

struct CommitmentFailure {
    CommitmentReference reference;
    uint16_t reason = 0;  // (0008,1197)
};

struct CommitmentReport {
    uint16_t event_type = 0;  // (0000,1002): 1 all committed, 2 failures exist
    std::string transaction_uid;
    std::vector<CommitmentReference> committed;  // Referenced SOP Sequence (0008,1199)
    std::vector<CommitmentFailure> failed;       // Failed SOP Sequence (0008,1198)
};

struct CommitmentAnswer {
    bool associated = false;          // A-ASSOCIATE-AC with the storage commitment context accepted
    uint16_t action_status = 0xFFFF;  // N-ACTION-RSP status
    std::optional<CommitmentReport> report;  // N-EVENT-REPORT received on the same association
    std::string error;                       // what went wrong, for test messages
};

// Asks the SCP at 127.0.0.1:port for commitment of `refs` under `transaction_uid` (N-ACTION,
// Action Type 1) and, when `wait_for_report`, waits up to `timeout_s` on the same association for
// the N-EVENT-REPORT-RQ, answers it with N-EVENT-REPORT-RSP success, then releases. A failed
// N-ACTION is not waited on; a report for another SOP class or instance is refused and not kept.
CommitmentAnswer request_commitment(uint16_t port, const std::string& calling_ae,
                                    const std::string& called_ae,
                                    const std::string& transaction_uid,
                                    const std::vector<CommitmentReference>& refs,
                                    bool wait_for_report, int timeout_s = 30);

// Listens on 127.0.0.1:port as `ae_title` for one association that brings an N-EVENT-REPORT-RQ
// of the Storage Commitment Push Model (the SCP's report on an association of its own); answers
// it with success and returns it, or nullopt after timeout_s. Blocking; run it on a std::thread.
// Accepts the association only if the requester proposes the Storage Commitment Push Model
// SOP class (with SCP/SCU role selection item SCU=0 SCP=1, accepted as proposed).
// Connections that close without an A-ASSOCIATE-RQ (wait_for_port probes) are skipped; the first
// association refused (wrong called AE title, role or transfer syntax) or broken gives nullopt.
// DCMTK 3.6.7 binds the listener to all IPv4 interfaces, not only loopback.
std::optional<CommitmentReport> receive_commitment_report(uint16_t port,
                                                          const std::string& ae_title,
                                                          int timeout_s = 30);

}  // namespace countylink::testing
