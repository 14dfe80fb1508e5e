#include "gateway/audit/audit_log.hpp"

#include <fcntl.h>

#include <chrono>

#include <boost/json.hpp>

#include "gateway/server/clock.hpp"

namespace countylink::audit {

namespace json = boost::json;

namespace {

struct Coded {
    const char* code;     // DCM code value (PS3.16)
    const char* meaning;  // its code meaning: the EventID in the file
    const char* action;   // EventActionCode: C create, R read, U update, D delete, E execute
};

Coded coded(EventType type) {
    switch (type) {
        case EventType::store:
            return {"110104", "DICOM Instances Transferred", "C"};
        case EventType::refusal:
            return {"110113", "Security Alert", "E"};
        case EventType::login_failure:
            return {"110114", "User Authentication", "E"};
        case EventType::retrieve:
            return {"110104", "DICOM Instances Transferred", "R"};
        case EventType::query:
            return {"110112", "Query", "E"};
        case EventType::claim:
        case EventType::complete:
            return {"110103", "DICOM Instances Accessed", "U"};
        case EventType::forward:
            return {"110104", "DICOM Instances Transferred", "R"};
        case EventType::config_reload:
            return {"110100", "Application Activity", "E"};
        case EventType::purge:
            return {"110105", "DICOM Study Deleted", "D"};
    }
    return {"110100", "Application Activity", "E"};
}

std::string iso_utc(int64_t unix_ms) {
    const std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char out[40];
    const std::size_t n = std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(out + n, sizeof out - n, ".%03dZ", static_cast<int>(unix_ms % 1000));
    return out;
}

void add_object(json::array& objects, const std::string& id, const char* type) {
    if (id.empty()) return;
    objects.push_back(
        json::object{{"ParticipantObjectID", id}, {"ParticipantObjectIDTypeCode", type}});
}

}  // namespace

const char* type_name(EventType type) {
    switch (type) {
        case EventType::store:
            return "store";
        case EventType::refusal:
            return "refusal";
        case EventType::login_failure:
            return "login_failure";
        case EventType::retrieve:
            return "retrieve";
        case EventType::query:
            return "query";
        case EventType::claim:
            return "claim";
        case EventType::complete:
            return "complete";
        case EventType::forward:
            return "forward";
        case EventType::config_reload:
            return "config_reload";
        case EventType::purge:
            return "purge";
    }
    return "unknown";
}

std::string to_json_line(const Event& e, int64_t unix_ms) {
    const Coded c = coded(e.type);
    json::object o;
    o["EventDateTime"] = iso_utc(unix_ms);
    o["EventID"] = c.meaning;
    o["EventIDCode"] = c.code;
    o["EventTypeCode"] = type_name(e.type);
    o["EventActionCode"] = c.action;
    o["EventOutcomeIndicator"] = static_cast<int>(e.outcome);
    if (!e.description.empty()) o["EventOutcomeDescription"] = e.description;

    // Before authentication (a refused handshake) nobody is known yet.
    json::object who{{"UserID", e.user.empty() ? "unknown" : e.user}, {"UserIsRequestor", true}};
    if (!e.certificate.empty()) who["AlternativeUserID"] = e.certificate;
    if (!e.township.empty()) who["UserName"] = e.township;
    if (!e.role.empty()) who["RoleIDCode"] = e.role;
    if (!e.address.empty()) {
        who["NetworkAccessPointID"] = e.address;
        who["NetworkAccessPointTypeCode"] = "2";  // an IP address
    }
    json::array participants{std::move(who)};
    if (!e.destination.empty()) {
        participants.push_back(json::object{{"UserID", e.destination}, {"UserIsRequestor", false}});
    }
    o["ActiveParticipant"] = std::move(participants);

    json::array objects;
    add_object(objects, e.study_instance_uid, "Study Instance UID");
    for (const auto& uid : e.sop_instance_uids) add_object(objects, uid, "SOP Instance UID");
    add_object(objects, e.queue, "Queue");
    if (e.item_id) add_object(objects, std::to_string(e.item_id), "Worklist Item");
    if (!objects.empty()) o["ParticipantObjectIdentification"] = std::move(objects);
    return json::serialize(o);
}

AuditLog::AuditLog(const std::filesystem::path& file)
    : fd_(io::open_file(file, O_WRONLY | O_CREAT | O_APPEND, 0600)) {
    writer_ = std::thread([this] { run(); });
}

AuditLog::~AuditLog() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_one();
    writer_.join();
}

void AuditLog::record(const Event& event) {
    std::string line = to_json_line(event, server::unix_now_ms()) + "\n";
    {
        std::lock_guard lock(mutex_);
        pending_.push_back(std::move(line));
        ++recorded_;
    }
    wake_.notify_one();
}

void AuditLog::flush() {
    std::unique_lock lock(mutex_);
    const uint64_t wanted = recorded_;
    synced_.wait(lock, [&] { return durable_ >= wanted; });
}

uint64_t AuditLog::syncs() const {
    std::lock_guard lock(mutex_);
    return syncs_;
}

// Takes everything queued, writes it in one write and one fsync, and reports it durable;
// events recorded meanwhile form the next batch.
void AuditLog::run() {
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_.wait(lock, [&] { return stop_ || !pending_.empty(); });
        if (pending_.empty()) return;  // stopping with nothing left
        std::vector<std::string> batch;
        batch.swap(pending_);
        const uint64_t upto = recorded_;
        lock.unlock();
        std::string bytes;
        for (const auto& line : batch) bytes += line;
        bool written = false;
        try {
            io::write_all(fd_.get(), std::as_bytes(std::span(bytes.data(), bytes.size())));
            io::sync_fd(fd_.get());
            written = true;
        } catch (const std::exception&) {
            // Disk full or failing: keep the lines and try again shortly; nothing is dropped.
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
        lock.lock();
        if (written) {
            durable_ = upto;
            ++syncs_;
            synced_.notify_all();
        } else if (!stop_) {
            pending_.insert(pending_.begin(), batch.begin(), batch.end());
        } else {
            return;  // stopping on a failing disk: nothing more can be done
        }
    }
}

}  // namespace countylink::audit
