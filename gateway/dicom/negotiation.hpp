// Association negotiation as the SCP: which A-ASSOCIATE-RQs we accept, with which presentation
// contexts, and the A-ASSOCIATE-RJ reason when we do not. Pure logic, no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>

#include "config/config.hpp"
#include "gateway/dicom/pdu.hpp"

namespace countylink::dicom {

struct AcceptedContext {
    std::string abstract_syntax;
    std::string transfer_syntax;
    // A viewer's storage context for C-GET: it takes the SCP role, we send C-STOREs on it.
    bool requester_is_scp = false;
};

struct Accepted {
    AssociateAc ac;
    std::string township;                       // equipment: its township; viewers: empty
    const config::Principal* viewer = nullptr;  // a principal's DICOM viewer (C-FIND only)
    std::string note;  // for the log: contexts refused to this caller, and what to configure
    std::map<uint8_t, AcceptedContext> contexts;  // by presentation context id
    uint32_t peer_max_pdu = 0;                    // 0: unlimited
};

struct Rejected {
    AssociateRj rj;
    std::string why;  // for the log
};

// Reject reasons of PS3.8 table 9-21 we use.
namespace reject {
inline constexpr AssociateRj no_reason{1, 1, 1};
inline constexpr AssociateRj application_context_not_supported{1, 1, 2};
inline constexpr AssociateRj calling_ae_not_recognized{1, 1, 3};
inline constexpr AssociateRj called_ae_not_recognized{1, 1, 7};
inline constexpr AssociateRj protocol_version_not_supported{1, 2, 2};
inline constexpr AssociateRj local_limit_exceeded{2, 3, 2};
}  // namespace reject

// Decides on `rq`: called AE must be ours, calling AE known (a township's equipment, a
// principal's viewer, or unregistered accepted), the DICOM application context, protocol
// version 1. Each context gets the first transfer syntax the requester proposed that we
// accept, so objects are stored as the equipment sent them. Viewers get C-ECHO, C-FIND, C-MOVE
// and C-GET, and storage contexts only where they take the SCP role (the C-GET sub-operations
// come to them); equipment all but C-MOVE and C-GET, and not C-FIND when unregistered (user
// rejection: patient data).
// `peer_address`: the caller's IP address, checked against a viewer principal's ae_hosts.
std::variant<Accepted, Rejected> negotiate(const AssociateRq& rq, const config::Config& config,
                                           const std::string& peer_address = {});

}  // namespace countylink::dicom
