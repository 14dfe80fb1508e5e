// The audit trail: one JSON line per access (store, refusal, retrieve, query, claim, complete,
// forward, login failure, config reload), appended to a file that only grows. Lines are
// written and fsync'd by one thread in batches (group commit), so recording never waits for
// the disk. Field names follow the DICOM audit message schema (PS3.15 A.5) where one fits; see
// docs/security.md for the mapping.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "codecs/io/file.hpp"

namespace countylink::audit {

// What happened. Each type maps to a PS3.15 EventID and EventActionCode (audit_log.cpp).
enum class EventType {
    store,          // an object received (C-STORE, STOW-RS part): stored or refused
    refusal,        // an access refused: TLS handshake, association, HTTP 403
    login_failure,  // HTTP credentials missing or unknown (401)
    retrieve,       // instances or metadata read (WADO-RS, /api/v1/instances, an item)
    query,          // a search or listing (QIDO-RS, queue items, queue summaries)
    claim,          // worklist item claimed, renewed or released
    complete,       // worklist item reported
    forward,        // an object sent on to a forward destination (or given up on)
    config_reload,  // SIGHUP: certificates re-read
    purge           // a study removed by `countylinkctl purge` (retention)
};

// "store", "refusal", ... (the EventTypeCode in the file, and countylinkctl's --event).
const char* type_name(EventType type);

// EventOutcomeIndicator values of PS3.15.
enum class Outcome { success = 0, minor_failure = 4, serious_failure = 8, major_failure = 12 };

struct Event {
    EventType type = EventType::store;
    Outcome outcome = Outcome::success;
    std::string description;  // why (refusals, failures); never patient data
    // The requestor (ActiveParticipant).
    std::string user;         // UserID: principal name, or the calling AE title
    std::string role;         // RoleIDCode: uploader, reader, ops, admin, equipment
    std::string township;     // UserName for equipment
    std::string certificate;  // AlternativeUserID: the TLS client certificate subject
    std::string address;      // NetworkAccessPointID: the peer's IP address
    // What was touched (ParticipantObjectIdentification).
    std::string study_instance_uid;
    std::vector<std::string> sop_instance_uids;
    std::string queue;
    std::string destination;  // forward destination, or the DICOM/HTTP endpoint
    int64_t item_id = 0;      // worklist item
};

// The JSON line for `event` at `unix_ms` (no trailing newline).
std::string to_json_line(const Event& event, int64_t unix_ms);

// Sink for audit events; front ends record into it.
class AuditTrail {
  public:
    virtual ~AuditTrail() = default;
    // Queues the event, stamped now. Never blocks on I/O.
    virtual void record(const Event& event) = 0;
    // Waits until every event recorded before the call is on disk (before an irreversible step).
    virtual void flush() = 0;
};

// The append-only file with its group-commit writer thread.
class AuditLog final : public AuditTrail {
  public:
    // Opens (creates, mode 0600) `file` for appending and starts the writer. Throws on I/O
    // errors.
    explicit AuditLog(const std::filesystem::path& file);
    // Writes and syncs what is queued, then stops the writer.
    ~AuditLog() override;
    AuditLog(const AuditLog&) = delete;
    AuditLog& operator=(const AuditLog&) = delete;

    void record(const Event& event) override;
    // Waits until every event recorded before the call is written and fsync'd.
    void flush() override;
    // fsyncs done so far (each covers a batch of lines).
    uint64_t syncs() const;

  private:
    void run();

    io::UniqueFd fd_;
    mutable std::mutex mutex_;
    std::condition_variable wake_, synced_;
    std::vector<std::string> pending_;
    uint64_t recorded_ = 0, durable_ = 0, syncs_ = 0;
    bool stop_ = false;
    std::thread writer_;
};

}  // namespace countylink::audit
