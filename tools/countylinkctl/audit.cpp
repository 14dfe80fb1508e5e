#include "tools/countylinkctl/audit.hpp"

#include <chrono>
#include <ctime>
#include <fstream>
#include <ostream>
#include <stdexcept>

#include <boost/json.hpp>

namespace countylink::ctl {

namespace json = boost::json;

namespace {

// "30m", "2h", "7d" -> the ISO time that long ago; anything else is taken as an ISO prefix.
std::string since_bound(const std::string& since) {
    if (since.size() >= 2 && std::isdigit(static_cast<unsigned char>(since[0]))) {
        const char unit = since.back();
        const std::string digits = since.substr(0, since.size() - 1);
        const bool number = digits.find_first_not_of("0123456789") == std::string::npos;
        if (number && (unit == 'm' || unit == 'h' || unit == 'd')) {
            const long n = std::stol(digits);
            const long seconds = unit == 'm' ? n * 60 : unit == 'h' ? n * 3600 : n * 86400;
            const std::time_t t = std::time(nullptr) - seconds;
            std::tm tm{};
            gmtime_r(&t, &tm);
            char text[32];
            std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
            return text;
        }
    }
    // An ISO prefix: digits, '-', 'T', ':' and '.' only, starting with a year.
    if (since.size() < 4 || since.find_first_not_of("0123456789-T:.Z") != std::string::npos) {
        throw std::runtime_error(
            "--since: expected an ISO 8601 UTC time such as "
            "2026-11-23T07:30 or a duration such as 30m, 2h, 7d; got '" +
            since + "'");
    }
    return since;
}

std::string text_of(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

bool any_participant(const json::object& o, const std::string& user) {
    const json::value* list = o.if_contains("ActiveParticipant");
    if (!list || !list->is_array()) return false;
    for (const auto& p : list->as_array()) {
        if (!p.is_object()) continue;
        const auto& who = p.as_object();
        if (text_of(who, "UserID") == user) return true;
        const std::string subject = text_of(who, "AlternativeUserID");
        if (!subject.empty() && subject.find(user) != std::string::npos) return true;
    }
    return false;
}

bool about_study(const json::object& o, const std::string& study) {
    const json::value* list = o.if_contains("ParticipantObjectIdentification");
    if (!list || !list->is_array()) return false;
    for (const auto& p : list->as_array()) {
        if (p.is_object() && text_of(p.as_object(), "ParticipantObjectID") == study &&
            text_of(p.as_object(), "ParticipantObjectIDTypeCode") == "Study Instance UID") {
            return true;
        }
    }
    return false;
}

}  // namespace

std::size_t print_audit(const std::filesystem::path& file, const AuditFilter& filter,
                        std::ostream& out, std::size_t& skipped) {
    std::ifstream in(file);
    if (!in) {
        throw std::runtime_error("cannot read audit trail " + file.string() +
                                 " (pass the gateway's data directory with --data-dir, or the "
                                 "file with --file)");
    }
    const std::string since = filter.since.empty() ? std::string() : since_bound(filter.since);
    std::size_t shown = 0;
    skipped = 0;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        boost::system::error_code ec;
        const json::value v = json::parse(line, ec);
        if (ec || !v.is_object()) {
            ++skipped;
            continue;
        }
        const auto& o = v.as_object();
        if (!since.empty() && text_of(o, "EventDateTime") < since) continue;
        if (!filter.event.empty() && text_of(o, "EventTypeCode") != filter.event &&
            text_of(o, "EventID") != filter.event) {
            continue;
        }
        if (!filter.user.empty() && !any_participant(o, filter.user)) continue;
        if (!filter.study.empty() && !about_study(o, filter.study)) continue;
        out << line << "\n";
        ++shown;
    }
    return shown;
}

}  // namespace countylink::ctl
