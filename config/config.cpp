// Loading and checking the configuration: TOML (toml++) into the typed Config, with errors that
// name the key path, the file and the line.
#include "config/config.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <span>
#include <string_view>
#include <system_error>
#include <utility>

#include <toml++/toml.h>

#include "codecs/dicom/dataset_check.hpp"

namespace countylink::config {
namespace {

// Integer bounds. Parsing checks them before narrowing to the field's type; validate() checks
// them again for configs edited in code.
struct IntRange {
    int64_t min;
    int64_t max;
};

constexpr IntRange port_range{0, 65535};  // 0: any free port, logged at start
constexpr IntRange pdu_range{4096, 16 << 20};
constexpr IntRange object_range{1, int64_t{1} << 40};  // 1 TiB: far beyond any real study
constexpr IntRange artim_range{1, 3600};
constexpr IntRange idle_range{1, 86400};
constexpr IntRange associations_range{1, 1'000'000};
constexpr IntRange zstd_range{1, 19};
constexpr IntRange workers_range{1, 256};
constexpr IntRange stable_after_range{0, 86400};
constexpr IntRange lease_range{10, 86400};
constexpr IntRange turnaround_range{60, 30 * 86400};  // one minute to 30 days
constexpr IntRange retry_deadline_range{60, 30 * 86400};
constexpr IntRange backoff_initial_range{1, 3600};
constexpr IntRange backoff_max_range{1, 86400};
constexpr IntRange batch_range{1, 1000};
constexpr IntRange destination_port_range{1, 65535};  // a remote listener: 0 is not a port
constexpr IntRange retention_days_range{0, 36500};    // 0: off; store::kMaxPurgeDays
constexpr IntRange hour_range{0, 23};

constexpr std::size_t max_ae_length = 16;
constexpr std::array<std::string_view, 4> log_levels{"debug", "info", "warn", "error"};
constexpr std::array<Priority, 3> priorities{Priority::stat, Priority::urgent, Priority::routine};
constexpr std::array<std::string_view, 3> priority_names{"stat", "urgent", "routine"};

constexpr std::size_t max_modality_length = 16;
constexpr std::size_t max_uid_length = 64;
constexpr std::size_t max_queue_length = 32;
constexpr std::size_t max_destination_length = 32;
constexpr std::size_t max_token_name_length = 64;
constexpr std::size_t min_token_length = 16;

constexpr std::string_view ae_expectation =
    "expected an AE title of 1-16 printable ASCII characters, no backslash, not all spaces";

constexpr std::string_view modality_expectation =
    "expected a modality of 1-16 characters A-Z, 0-9 or _";
constexpr std::string_view uid_expectation =
    "expected a UID of at most 64 characters: digits in dot-separated components, no empty "
    "component, no leading zero";
constexpr std::string_view queue_expectation =
    "expected a queue name of 1-32 characters a-z, 0-9, _ or -";
constexpr std::string_view destination_expectation =
    "expected a destination name of 1-32 characters a-z, 0-9, _ or -";
constexpr std::string_view host_expectation =
    "expected a host name or address without spaces or control characters";
constexpr std::string_view token_name_expectation =
    "expected a token name of 1-64 characters A-Z, a-z, 0-9, _, ., @ or -";
constexpr std::string_view token_expectation =
    "expected a token of at least 16 printable ASCII characters without spaces";
constexpr std::string_view url_expectation = "expected a URL http://host[:port][/path]";

constexpr std::string_view dicom_destination = "dicom";
constexpr std::string_view stowrs_destination = "stowrs";
constexpr std::array<std::string_view, 2> destination_types{dicom_destination, stowrs_destination};

using Keys = std::span<const std::string_view>;
constexpr std::array<std::string_view, 15> root_keys{"dicom",
                                                     "http",
                                                     "storage",
                                                     "validation",
                                                     "server",
                                                     "routing",
                                                     "api",
                                                     "turnaround",
                                                     "forward",
                                                     "townships",
                                                     "tls",
                                                     "audit",
                                                     "storage_commitment",
                                                     "retention",
                                                     "ecg"};
constexpr std::array<std::string_view, 13> dicom_keys{"port",
                                                      "ae_title",
                                                      "bind",
                                                      "max_pdu_bytes",
                                                      "max_object_bytes",
                                                      "artim_timeout_s",
                                                      "idle_timeout_s",
                                                      "max_associations",
                                                      "accept_unregistered",
                                                      "plain",
                                                      "tls",
                                                      "tls_port",
                                                      "move_destinations"};
constexpr std::array<std::string_view, 4> http_keys{"port", "bind", "tls", "public_metrics"};
constexpr std::array<std::string_view, 3> tls_keys{"certificate", "private_key", "ca"};
constexpr std::array<std::string_view, 1> audit_keys{"file"};
constexpr std::array<std::string_view, 6> principal_keys{"name",   "role",      "township",
                                                         "queues", "ae_titles", "ae_hosts"};
constexpr std::array<std::string_view, 4> role_names{"uploader", "reader", "ops", "admin"};
constexpr std::array<Role, 4> roles{Role::uploader, Role::reader, Role::ops, Role::admin};
constexpr std::array<std::string_view, 2> storage_keys{"data_dir", "zstd_level"};
constexpr std::array<std::string_view, 1> validation_keys{"fatal"};
constexpr std::array<std::string_view, 2> server_keys{"workers", "log_level"};
constexpr std::array<std::string_view, 2> township_keys{"name", "ae_titles"};
constexpr std::array<std::string_view, 2> routing_keys{"stable_after_s", "rules"};
constexpr std::array<std::string_view, 7> rule_keys{
    "modalities", "sop_classes", "townships", "ecg_verdicts", "priority", "queues", "forward"};
constexpr std::array<std::string_view, 2> ecg_verdict_names{"acceptable", "unacceptable"};
constexpr std::array<std::string_view, 4> api_keys{"lease_s", "tokens", "token_file", "principals"};
constexpr std::array<std::string_view, 2> token_keys{"name", "token"};
constexpr std::array<std::string_view, 3> turnaround_keys{"stat_s", "urgent_s", "routine_s"};
constexpr std::array<std::string_view, 5> forward_keys{"retry_deadline_s", "backoff_initial_s",
                                                       "backoff_max_s", "batch", "destinations"};
constexpr std::array<std::string_view, 8> destination_keys{
    "name", "type", "ae_title", "host", "port", "calling_ae", "url", "token"};
// The keys of one destination type that the other must not be given.
constexpr std::array<std::string_view, 1> storage_commitment_keys{"peers"};
constexpr std::array<std::string_view, 2> retention_keys{"purge_after_days", "run_at_hour"};
constexpr std::array<std::string_view, 2> ecg_keys{"reversal_is_unacceptable",
                                                   "muscle_noise_is_unacceptable"};
constexpr std::array<std::string_view, 3> remote_ae_keys{"ae_title", "host", "port"};
constexpr std::array<std::string_view, 4> dicom_only_keys{"ae_title", "host", "port", "calling_ae"};
constexpr std::array<std::string_view, 2> stowrs_only_keys{"url", "token"};

std::string join(Keys words) {
    std::string out;
    for (std::string_view word : words) {
        if (!out.empty()) out += ", ";
        out += word;
    }
    return out;
}

std::string join(const std::set<std::string>& words) {
    std::string out;
    for (const std::string& word : words) {
        if (!out.empty()) out += ", ";
        out += word;
    }
    return out;
}

// A value from the file, quoted for a message; bytes that would garble a terminal are escaped.
std::string quote_value(std::string_view text) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out = "'";
    for (unsigned char c : text) {
        if (c >= 0x20 && c < 0x7f) {
            out += static_cast<char>(c);
        } else {
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 0xf];
        }
    }
    return out + "'";
}

std::string_view type_name(toml::node_type type) {
    switch (type) {
        case toml::node_type::none:
            return "nothing";
        case toml::node_type::table:
            return "table";
        case toml::node_type::array:
            return "array";
        case toml::node_type::string:
            return "string";
        case toml::node_type::integer:
            return "integer";
        case toml::node_type::floating_point:
            return "float";
        case toml::node_type::boolean:
            return "boolean";
        case toml::node_type::date:
            return "date";
        case toml::node_type::time:
            return "time";
        case toml::node_type::date_time:
            return "date-time";
    }
    return "unknown";
}

std::string expected_integer(IntRange range) {
    return "expected an integer " + std::to_string(range.min) + "-" + std::to_string(range.max);
}

// DICOM pads AE titles with spaces; leading and trailing ones are not significant (PS3.5 6.2).
std::string_view trim_spaces(std::string_view text) {
    const auto first = text.find_first_not_of(' ');
    if (first == std::string_view::npos) return {};
    return text.substr(first, text.find_last_not_of(' ') - first + 1);
}

bool valid_ae_title(std::string_view ae) {
    if (ae.empty() || ae.size() > max_ae_length || trim_spaces(ae).empty()) return false;
    return std::all_of(ae.begin(), ae.end(),
                       [](char c) { return c >= 0x20 && c < 0x7f && c != '\\'; });
}

bool valid_modality(std::string_view modality) {
    if (modality.empty() || modality.size() > max_modality_length) return false;
    return std::all_of(modality.begin(), modality.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    });
}

// PS3.5 9.1: components of digits separated by single dots, no leading zero in a component.
bool valid_uid(std::string_view uid) {
    if (uid.empty() || uid.size() > max_uid_length) return false;
    std::size_t start = 0;
    while (true) {
        const std::size_t end = std::min(uid.find('.', start), uid.size());
        const std::string_view component = uid.substr(start, end - start);
        if (component.empty()) return false;
        if (component.size() > 1 && component.front() == '0') return false;
        if (!std::all_of(component.begin(), component.end(),
                         [](char c) { return c >= '0' && c <= '9'; })) {
            return false;
        }
        if (end == uid.size()) return true;
        start = end + 1;
    }
}

// Queue and destination names: lower-case letters, digits, _ and -, at most `max_length`.
bool valid_lower_name(std::string_view name, std::size_t max_length) {
    if (name.empty() || name.size() > max_length) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
}

bool valid_queue_name(std::string_view queue) {
    return valid_lower_name(queue, max_queue_length);
}

bool valid_destination_name(std::string_view name) {
    return valid_lower_name(name, max_destination_length);
}

// No spaces or control characters: nothing a resolver could take, and a likely copy-paste slip.
bool valid_host(std::string_view host) {
    return !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
        return static_cast<unsigned char>(c) > 0x20 && c != 0x7f;
    });
}

// The address in inet_ntop's form (so "::ffff:10.0.0.1" and "10.0.0.1" compare equal), or nullopt
// for something that is no IP literal.
std::optional<std::string> canonical_address(const std::string& text) {
    unsigned char bytes[16];
    char out[INET6_ADDRSTRLEN];
    if (inet_pton(AF_INET, text.c_str(), bytes) == 1) {
        return inet_ntop(AF_INET, bytes, out, sizeof out) ? std::optional<std::string>(out)
                                                          : std::nullopt;
    }
    if (inet_pton(AF_INET6, text.c_str(), bytes) != 1) return std::nullopt;
    static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::equal(std::begin(kMapped), std::end(kMapped), bytes)) {
        return inet_ntop(AF_INET, bytes + 12, out, sizeof out) ? std::optional<std::string>(out)
                                                               : std::nullopt;
    }
    return inet_ntop(AF_INET6, bytes, out, sizeof out) ? std::optional<std::string>(out)
                                                       : std::nullopt;
}

bool valid_token_name(std::string_view name) {
    if (name.empty() || name.size() > max_token_name_length) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '.' || c == '@' || c == '-';
    });
}

// Printable ASCII without spaces (0x21-0x7e): what fits an Authorization header unquoted.
bool valid_token(std::string_view token) {
    if (token.size() < min_token_length) return false;
    return std::all_of(token.begin(), token.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

// What is wrong with a token valid_token refuses, without showing it (tokens are secrets).
std::string token_problem(std::string_view token) {
    return std::string(token_expectation) + "; " +
           (token.size() < min_token_length
                ? "it has " + std::to_string(token.size()) + " characters"
                : std::string("it contains a space or a character outside printable ASCII"));
}

std::string destination_type_expectation() {
    return "expected one of " + join(destination_types);
}

bool valid_destination_type(std::string_view type) {
    return std::find(destination_types.begin(), destination_types.end(), type) !=
           destination_types.end();
}

// A dicom destination given a key of stowrs ones (url, token).
std::string stowrs_key_message(std::string_view key, bool type_given) {
    return std::string(key) + " belongs to stowrs destinations; set type = \"stowrs\" to send " +
           "with STOW-RS (this destination is type \"dicom\"" +
           (type_given ? "" : ", the default") + ")";
}

// A stowrs destination given a key of dicom ones (ae_title, host, port, calling_ae).
std::string dicom_key_message(std::string_view key) {
    return std::string(key) + " is not used by stowrs destinations, which send to url; " +
           join(dicom_only_keys) + " belong to dicom destinations";
}

bool url_host_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
}

// Why `url` is no STOW-RS base URL we can send to (the message after the key path), or nullopt.
// http only for now; "/studies" is appended to its path, so it has no query or fragment.
std::optional<std::string> url_problem(std::string_view url) {
    const std::string expectation(url_expectation);
    constexpr std::string_view scheme = "http://";
    const auto starts_with_nocase = [&](std::string_view prefix) {
        return url.size() >= prefix.size() &&
               std::equal(prefix.begin(), prefix.end(), url.begin(), [](char a, char b) {
                   return a == (b >= 'A' && b <= 'Z' ? static_cast<char>(b - 'A' + 'a') : b);
               });
    };
    if (starts_with_nocase("https://")) {
        return expectation +
               "; https is not supported yet (the gateway serves TLS but does not send it), until "
               "then "
               "use http:// on a trusted network, got " +
               quote_value(url);
    }
    if (!url.starts_with(scheme)) {
        return expectation + " starting with http://, got " + quote_value(url);
    }
    if (!std::all_of(url.begin(), url.end(), [](char c) { return c > 0x20 && c < 0x7f; })) {
        return expectation + " without spaces, control or non-ASCII characters, got " +
               quote_value(url);
    }
    const std::string_view rest = url.substr(scheme.size());
    const std::string_view authority = rest.substr(0, rest.find('/'));  // then the path, if any
    // Credentials would be logged and shown in messages; this one leaves the URL out for that.
    if (authority.find('@') != std::string_view::npos) {
        return expectation +
               "; user names and passwords in the URL are not supported (give a "
               "bearer token in token)";
    }
    if (url.find_first_of("?#") != std::string_view::npos) {
        return expectation +
               " without query or fragment ('?', '#'): \"/studies\" is appended "
               "to it, got " +
               quote_value(url);
    }
    // host[:port]. The sender splits at the first ':', so no IPv6 literal ([fd00::5]) for now.
    if (authority.starts_with('[')) {
        return expectation +
               "; IPv6 address literals are not supported, use a host name or an "
               "IPv4 address, got " +
               quote_value(url);
    }
    const std::string_view host = authority.substr(0, authority.find(':'));
    if (host.empty()) return expectation + "; the host is missing, got " + quote_value(url);
    if (!std::all_of(host.begin(), host.end(), url_host_char)) {
        return expectation + "; the host may hold A-Z, a-z, 0-9, '.', '-' and '_', got " +
               quote_value(url);
    }
    if (host.size() < authority.size()) {
        const std::string_view port = authority.substr(host.size() + 1);  // after the ':'
        const bool digits =
            !port.empty() && port.size() <= 5 &&
            std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
        const int number = digits ? std::stoi(std::string(port)) : 0;
        if (number < destination_port_range.min || number > destination_port_range.max) {
            return expectation + "; the port after the host must be 1-65535, got " +
                   quote_value(url);
        }
    }
    return std::nullopt;
}

std::optional<Priority> priority_from_name(std::string_view name) {
    for (std::size_t i = 0; i < priorities.size(); ++i) {
        if (priority_names[i] == name) return priorities[i];
    }
    return std::nullopt;
}

std::string parent_path(const std::string& path) {
    const auto cut = path.find_last_of(".[");
    return cut == std::string::npos ? std::string() : path.substr(0, cut);
}

// Builds error messages that point at the origin and line a key path came from, when known.
// Lines are recorded while parsing, so rules checked afterwards can still point into the file.
class Reporter {
  public:
    explicit Reporter(std::string origin) : origin_(std::move(origin)) {}

    void note(const std::string& path, const toml::source_region& where) {
        if (where.begin.line > 0) lines_[path] = where.begin.line;
    }

    // "origin:line: path: message"
    [[noreturn]] void fail(const std::string& path, std::string_view message) const {
        fail_with(path, path + ": " + std::string(message));
    }

    // "origin:line: message", the line being that of `path` (or its nearest noted parent: a
    // missing key is reported at its table).
    [[noreturn]] void fail_with(const std::string& path, const std::string& message) const {
        std::string prefix = origin_.empty() ? std::string() : origin_ + ": ";
        for (std::string p = path; !p.empty(); p = parent_path(p)) {
            if (const auto it = lines_.find(p); it != lines_.end()) {
                prefix =
                    (origin_.empty() ? "line " : origin_ + ":") + std::to_string(it->second) + ": ";
                break;
            }
        }
        throw ConfigError(prefix + message);
    }

    // Whether the file gave `path` (its line was noted).
    bool noted(const std::string& path) const { return lines_.contains(path); }

    // A path for a message about another key, with its line when known.
    std::string describe(const std::string& path) const {
        const auto it = lines_.find(path);
        return it == lines_.end() ? path : path + ", line " + std::to_string(it->second);
    }

  private:
    std::string origin_;
    std::map<std::string, toml::source_index> lines_;
};

// One TOML table being read into settings: its keys are checked against the allowed list first,
// and absent keys keep their defaults. Only types and integer ranges are checked here; value
// rules are left to check_rules so edited configs get the same checks.
class TableReader {
  public:
    TableReader(const toml::table& table, std::string path, Reporter& reporter, Keys allowed)
        : table_(table), path_(std::move(path)), reporter_(reporter) {
        reporter_.note(path_, table.source());
        reject_unknown_keys(allowed);
    }

    std::string path_of(std::string_view key) const {
        return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
    }

    const toml::node* find(std::string_view key) const {
        const toml::node* node = table_.get(key);
        if (node) reporter_.note(path_of(key), node->source());
        return node;
    }

    [[noreturn]] void fail(std::string_view key, std::string_view message) const {
        reporter_.fail(path_of(key), message);
    }

    Reporter& reporter() const { return reporter_; }

    // A key that has no default: missing is an error.
    const toml::node& require(std::string_view key, std::string_view expectation) const {
        const toml::node* node = find(key);
        if (!node) reporter_.fail(path_of(key), "missing; " + std::string(expectation));
        return *node;
    }

    template <typename T>
    void integer(std::string_view key, IntRange range, T& out) const {
        const toml::node* node = find(key);
        if (!node) return;
        const auto* value = node->as_integer();
        if (!value) {
            reporter_.fail(path_of(key), expected_integer(range) + ", got " +
                                             std::string(type_name(node->type())));
        }
        const int64_t v = value->get();
        if (v < range.min || v > range.max) {
            reporter_.fail(path_of(key), expected_integer(range) + ", got " + std::to_string(v));
        }
        out = static_cast<T>(v);
    }

    void boolean(std::string_view key, bool& out) const {
        const toml::node* node = find(key);
        if (!node) return;
        const auto* value = node->as_boolean();
        if (!value) {
            reporter_.fail(path_of(key),
                           "expected true or false, got " + std::string(type_name(node->type())));
        }
        out = value->get();
    }

    void string(std::string_view key, std::string& out, std::string_view expectation) const {
        if (const toml::node* node = find(key)) {
            out = string_value(*node, path_of(key), expectation);
        }
    }

    // An array of strings, element by element so a wrong element is named with its index.
    void strings(std::string_view key, std::vector<std::string>& out,
                 std::string_view array_expectation, std::string_view item_expectation) const {
        if (const toml::node* node = find(key)) {
            out = string_array(*node, path_of(key), array_expectation, item_expectation);
        }
    }

    std::string string_value(const toml::node& node, const std::string& path,
                             std::string_view expectation) const {
        const auto* value = node.as_string();
        if (!value) {
            reporter_.fail(
                path, std::string(expectation) + ", got " + std::string(type_name(node.type())));
        }
        return value->get();
    }

    std::vector<std::string> string_array(const toml::node& node, const std::string& path,
                                          std::string_view array_expectation,
                                          std::string_view item_expectation) const {
        const auto* array = node.as_array();
        if (!array) {
            reporter_.fail(path, std::string(array_expectation) + ", got " +
                                     std::string(type_name(node.type())));
        }
        std::vector<std::string> out;
        for (std::size_t i = 0; i < array->size(); ++i) {
            const std::string item_path = path + "[" + std::to_string(i) + "]";
            const toml::node& item = (*array)[i];
            reporter_.note(item_path, item.source());
            out.push_back(string_value(item, item_path, item_expectation));
        }
        return out;
    }

    // A sub-table; nullptr when absent.
    const toml::table* table(std::string_view key) const {
        const toml::node* node = find(key);
        if (!node) return nullptr;
        const auto* sub = node->as_table();
        if (!sub) {
            reporter_.fail(path_of(key),
                           "expected a table, got " + std::string(type_name(node->type())));
        }
        return sub;
    }

  private:
    // Reports the first unknown key in file order, so the message matches what the user sees.
    void reject_unknown_keys(Keys allowed) const {
        const toml::key* first = nullptr;
        for (auto&& [key, node] : table_) {
            static_cast<void>(node);
            if (std::find(allowed.begin(), allowed.end(), key.str()) != allowed.end()) continue;
            if (!first || key.source().begin.line < first->source().begin.line) first = &key;
        }
        if (!first) return;
        const std::string path = path_of(first->str());
        reporter_.note(path, first->source());
        reporter_.fail_with(path, "unknown key '" + path + "' (allowed: " + join(allowed) + ")");
    }

    const toml::table& table_;
    std::string path_;
    Reporter& reporter_;
};

void read_dicom(const TableReader& in, DicomSettings& out) {
    in.integer("port", port_range, out.port);
    in.string("ae_title", out.ae_title, "expected an AE title string");
    in.string("bind", out.bind, "expected an address string");
    in.integer("max_pdu_bytes", pdu_range, out.max_pdu_bytes);
    in.integer("max_object_bytes", object_range, out.max_object_bytes);
    in.integer("artim_timeout_s", artim_range, out.artim_timeout_s);
    in.integer("idle_timeout_s", idle_range, out.idle_timeout_s);
    in.integer("max_associations", associations_range, out.max_associations);
    in.boolean("accept_unregistered", out.accept_unregistered);
    in.boolean("plain", out.plain);
    in.boolean("tls", out.tls);
    in.integer("tls_port", port_range, out.tls_port);
}

// An array of tables ([[key]] in the file, or an array of inline tables) replacing `out` when
// present: each element is read by `read` from a TableReader that has refused keys not in `keys`.
template <typename T, typename Read>
void read_table_array(const TableReader& parent, std::string_view key, Keys keys,
                      std::vector<T>& out, Read read) {
    const toml::node* node = parent.find(key);
    if (!node) return;
    Reporter& reporter = parent.reporter();
    const std::string path = parent.path_of(key);
    const auto* array = node->as_array();
    if (!array) {
        reporter.fail(path, "expected an array of tables ([[" + path + "]]), got " +
                                std::string(type_name(node->type())));
    }
    std::vector<T> items;
    for (std::size_t i = 0; i < array->size(); ++i) {
        const std::string item_path = path + "[" + std::to_string(i) + "]";
        const toml::node& item = (*array)[i];
        const auto* table = item.as_table();
        if (!table) {
            reporter.note(item_path, item.source());
            reporter.fail(item_path, "expected a table with keys " + join(keys) + ", got " +
                                         std::string(type_name(item.type())));
        }
        items.push_back(read(TableReader(*table, item_path, reporter, keys)));
    }
    out = std::move(items);
}

Township read_township(const TableReader& in) {
    Township township;
    township.name = in.string_value(in.require("name", "expected a township name"),
                                    in.path_of("name"), "expected a township name string");
    township.ae_titles = in.string_array(in.require("ae_titles", "expected an array of AE titles"),
                                         in.path_of("ae_titles"), "expected an array of AE titles",
                                         "expected an AE title string");
    return township;
}

RouteRule read_rule(const TableReader& in) {
    RouteRule rule;
    in.strings("modalities", rule.modalities, "expected an array of modalities",
               "expected a modality string");
    in.strings("sop_classes", rule.sop_classes, "expected an array of SOP class UIDs",
               "expected a UID string");
    in.strings("townships", rule.townships, "expected an array of township names",
               "expected a township name string");
    in.strings("ecg_verdicts", rule.ecg_verdicts, "expected an array of ECG verdicts",
               "expected \"acceptable\" or \"unacceptable\"");
    for (const auto& verdict : rule.ecg_verdicts) {
        if (std::find(ecg_verdict_names.begin(), ecg_verdict_names.end(), verdict) ==
            ecg_verdict_names.end()) {
            in.fail("ecg_verdicts",
                    "expected one of " + join(ecg_verdict_names) + ", got " + quote_value(verdict));
        }
    }
    if (const toml::node* node = in.find("priority")) {
        const std::string expectation = "expected one of " + join(priority_names);
        const std::string name = in.string_value(*node, in.path_of("priority"), expectation);
        rule.priority = priority_from_name(name);
        if (!rule.priority) in.fail("priority", expectation + ", got " + quote_value(name));
    }
    // Both optional here; check_routing requires at least one queue or destination.
    in.strings("queues", rule.queues, "expected an array of queue names",
               "expected a queue name string");
    in.strings("forward", rule.forward, "expected an array of forward destination names",
               "expected a destination name string");
    return rule;
}

// The first of `keys` the table gives, in file order.
std::optional<std::string_view> first_given(const TableReader& in, Keys keys) {
    std::optional<std::string_view> first;
    toml::source_index first_line = 0;
    for (std::string_view key : keys) {
        if (const toml::node* node = in.find(key)) {
            const toml::source_index line = node->source().begin.line;
            if (!first || line < first_line) {
                first = key;
                first_line = line;
            }
        }
    }
    return first;
}

// Keys of the other destination type are refused before missing ones are asked for: a stowrs
// destination given host and port is better told about url than about a missing ae_title.
ForwardDestination read_destination(const TableReader& in) {
    ForwardDestination destination;
    destination.name = in.string_value(in.require("name", destination_expectation),
                                       in.path_of("name"), "expected a destination name string");
    const toml::node* type = in.find("type");
    if (type) {
        destination.type =
            in.string_value(*type, in.path_of("type"), destination_type_expectation());
        if (!valid_destination_type(destination.type)) {
            in.fail("type",
                    destination_type_expectation() + ", got " + quote_value(destination.type));
        }
    }
    if (destination.type == stowrs_destination) {
        if (const auto key = first_given(in, dicom_only_keys))
            in.fail(*key, dicom_key_message(*key));
        destination.url = in.string_value(in.require("url", url_expectation), in.path_of("url"),
                                          "expected a URL string");
        // The value is checked by check_forward, whose messages never show it.
        if (const toml::node* node = in.find("token")) {
            destination.token =
                in.string_value(*node, in.path_of("token"), "expected a token string");
            if (destination.token.empty()) {
                in.fail("token", std::string(token_expectation) +
                                     "; it is empty: leave token out to send none");
            }
        }
        return destination;
    }
    if (const auto key = first_given(in, stowrs_only_keys)) {
        in.fail(*key, stowrs_key_message(*key, type != nullptr));
    }
    destination.ae_title =
        in.string_value(in.require("ae_title", "expected the destination's AE title"),
                        in.path_of("ae_title"), "expected an AE title string");
    destination.host = in.string_value(in.require("host", host_expectation), in.path_of("host"),
                                       "expected a host string");
    in.integer("port", destination_port_range, destination.port);
    if (const toml::node* node = in.find("calling_ae")) {
        destination.calling_ae =
            in.string_value(*node, in.path_of("calling_ae"), "expected an AE title string");
        // Empty means dicom.ae_title in an edited Config; in a file, leaving the key out says so.
        if (destination.calling_ae.empty()) {
            in.fail("calling_ae", std::string(ae_expectation) +
                                      ", got ''; leave calling_ae out to call as dicom.ae_title");
        }
    }
    return destination;
}

RemoteAe read_remote_ae(const TableReader& in) {
    RemoteAe peer;
    peer.ae_title = in.string_value(in.require("ae_title", "expected its AE title"),
                                    in.path_of("ae_title"), "expected an AE title string");
    peer.host = in.string_value(in.require("host", host_expectation), in.path_of("host"),
                                "expected a host string");
    in.integer("port", destination_port_range, peer.port);
    return peer;
}

Principal read_principal(const TableReader& in) {
    Principal principal;
    principal.name = in.string_value(in.require("name", token_name_expectation), in.path_of("name"),
                                     "expected a principal name string");
    const std::string expectation = "expected one of " + join(role_names);
    const std::string role =
        in.string_value(in.require("role", expectation), in.path_of("role"), expectation);
    const auto* found = std::find(role_names.begin(), role_names.end(), role);
    if (found == role_names.end()) in.fail("role", expectation + ", got " + quote_value(role));
    principal.role = roles[static_cast<std::size_t>(found - role_names.begin())];
    in.string("township", principal.township, "expected a township name string");
    in.strings("queues", principal.queues, "expected an array of queue names",
               "expected a queue name string");
    in.strings("ae_titles", principal.ae_titles, "expected an array of AE titles",
               "expected an AE title string");
    in.strings("ae_hosts", principal.ae_hosts, "expected an array of IP addresses",
               "expected an IP address string");
    return principal;
}

// Token values are secrets: messages about them name the key, never the value.
ApiToken read_token(const TableReader& in) {
    ApiToken token;
    token.name = in.string_value(in.require("name", "expected a token name"), in.path_of("name"),
                                 "expected a token name string");
    token.token = in.string_value(in.require("token", token_expectation), in.path_of("token"),
                                  "expected a token string");
    return token;
}

void read_root(const toml::table& root, Reporter& reporter, Config& config) {
    const TableReader in(root, "", reporter, root_keys);
    if (const auto* t = in.table("dicom")) {
        const TableReader dicom(*t, "dicom", reporter, dicom_keys);
        read_dicom(dicom, config.dicom);
        read_table_array(dicom, "move_destinations", remote_ae_keys, config.dicom.move_destinations,
                         read_remote_ae);
    }
    if (const auto* t = in.table("http")) {
        const TableReader http(*t, "http", reporter, http_keys);
        http.integer("port", port_range, config.http.port);
        http.string("bind", config.http.bind, "expected an address string");
        http.boolean("tls", config.http.tls);
        http.boolean("public_metrics", config.http.public_metrics);
    }
    if (const auto* t = in.table("tls")) {
        const TableReader tls(*t, "tls", reporter, tls_keys);
        tls.string("certificate", config.tls.certificate, "expected a file path string");
        tls.string("private_key", config.tls.private_key, "expected a file path string");
        tls.string("ca", config.tls.ca, "expected a file path string");
    }
    if (const auto* t = in.table("audit")) {
        TableReader(*t, "audit", reporter, audit_keys)
            .string("file", config.audit.file, "expected a file path string");
    }
    if (const auto* t = in.table("storage")) {
        const TableReader storage(*t, "storage", reporter, storage_keys);
        std::string data_dir = config.storage.data_dir.string();
        storage.string("data_dir", data_dir, "expected a directory path string");
        config.storage.data_dir = data_dir;
        storage.integer("zstd_level", zstd_range, config.storage.zstd_level);
    }
    if (const auto* t = in.table("validation")) {
        TableReader(*t, "validation", reporter, validation_keys)
            .strings("fatal", config.validation.fatal, "expected an array of finding codes",
                     "expected a finding code string");
    }
    if (const auto* t = in.table("server")) {
        const TableReader server(*t, "server", reporter, server_keys);
        server.integer("workers", workers_range, config.server.workers);
        server.string("log_level", config.server.log_level, "expected a log level string");
    }
    if (const auto* t = in.table("routing")) {
        const TableReader routing(*t, "routing", reporter, routing_keys);
        routing.integer("stable_after_s", stable_after_range, config.routing.stable_after_s);
        read_table_array(routing, "rules", rule_keys, config.routing.rules, read_rule);
    }
    if (const auto* t = in.table("api")) {
        const TableReader api(*t, "api", reporter, api_keys);
        api.integer("lease_s", lease_range, config.api.lease_s);
        read_table_array(api, "tokens", token_keys, config.api.tokens, read_token);
        api.string("token_file", config.api.token_file, "expected a file path string");
        read_table_array(api, "principals", principal_keys, config.api.principals, read_principal);
    }
    if (const auto* t = in.table("turnaround")) {
        const TableReader turnaround(*t, "turnaround", reporter, turnaround_keys);
        turnaround.integer("stat_s", turnaround_range, config.turnaround.stat_s);
        turnaround.integer("urgent_s", turnaround_range, config.turnaround.urgent_s);
        turnaround.integer("routine_s", turnaround_range, config.turnaround.routine_s);
    }
    if (const auto* t = in.table("forward")) {
        const TableReader forward(*t, "forward", reporter, forward_keys);
        forward.integer("retry_deadline_s", retry_deadline_range, config.forward.retry_deadline_s);
        forward.integer("backoff_initial_s", backoff_initial_range,
                        config.forward.backoff_initial_s);
        forward.integer("backoff_max_s", backoff_max_range, config.forward.backoff_max_s);
        forward.integer("batch", batch_range, config.forward.batch);
        read_table_array(forward, "destinations", destination_keys, config.forward.destinations,
                         read_destination);
    }
    if (const auto* t = in.table("retention")) {
        const TableReader retention(*t, "retention", reporter, retention_keys);
        retention.integer("purge_after_days", retention_days_range,
                          config.retention.purge_after_days);
        retention.integer("run_at_hour", hour_range, config.retention.run_at_hour);
    }
    if (const auto* t = in.table("ecg")) {
        const TableReader ecg(*t, "ecg", reporter, ecg_keys);
        ecg.boolean("reversal_is_unacceptable", config.ecg.reversal_is_unacceptable);
        ecg.boolean("muscle_noise_is_unacceptable", config.ecg.muscle_noise_is_unacceptable);
    }
    if (const auto* t = in.table("storage_commitment")) {
        const TableReader commitment(*t, "storage_commitment", reporter, storage_commitment_keys);
        read_table_array(commitment, "peers", remote_ae_keys, config.storage_commitment.peers,
                         read_remote_ae);
    }
    read_table_array(in, "townships", township_keys, config.townships, read_township);
}

// The checker can't index an object without these, so a config can't make them warnings; the
// file may omit them and they are added here rather than refusing a harmless omission.
void add_always_fatal(std::vector<std::string>& fatal) {
    for (const std::string& code : codecs::dicom::always_fatal_codes()) {
        if (std::find(fatal.begin(), fatal.end(), code) == fatal.end()) fatal.push_back(code);
    }
}

template <typename T>
void check_range(const Reporter& reporter, const std::string& path, T value, IntRange range) {
    if (std::cmp_less(value, range.min) || std::cmp_greater(value, range.max)) {
        reporter.fail(path, expected_integer(range) + ", got " + std::to_string(value));
    }
}

void check_ae_title(const Reporter& reporter, const std::string& path, const std::string& ae) {
    if (!valid_ae_title(ae))
        reporter.fail(path, std::string(ae_expectation) + ", got " + quote_value(ae));
}

bool is_wildcard(std::string_view bind) {
    return bind == "0.0.0.0" || bind == "::";
}

void check_townships(const Reporter& reporter, const std::vector<Township>& townships) {
    std::map<std::string, std::string, std::less<>> name_paths;  // name -> where first seen
    struct Listing {
        std::string township;
        std::string path;
    };
    std::map<std::string, Listing, std::less<>> ae_listings;  // trimmed AE -> first listing
    for (std::size_t i = 0; i < townships.size(); ++i) {
        const Township& township = townships[i];
        const std::string path = "townships[" + std::to_string(i) + "]";
        const std::string name_path = path + ".name";
        if (township.name.empty() || trim_spaces(township.name) != township.name) {
            reporter.fail(name_path,
                          "expected a non-empty township name without leading or trailing "
                          "spaces, got " +
                              quote_value(township.name));
        }
        if (township.name == unregistered_township) {
            reporter.fail(name_path,
                          "'" + township.name + "' is reserved for callers no township lists");
        }
        if (const auto [it, added] = name_paths.emplace(township.name, name_path); !added) {
            reporter.fail(name_path, "duplicate township name " + quote_value(township.name) +
                                         " (also " + reporter.describe(it->second) + ")");
        }
        if (township.ae_titles.empty()) {
            reporter.fail(path + ".ae_titles", "expected at least one AE title");
        }
        for (std::size_t j = 0; j < township.ae_titles.size(); ++j) {
            const std::string& ae = township.ae_titles[j];
            const std::string ae_path = path + ".ae_titles[" + std::to_string(j) + "]";
            check_ae_title(reporter, ae_path, ae);
            const auto [it, added] =
                ae_listings.emplace(std::string(trim_spaces(ae)), Listing{township.name, ae_path});
            if (!added) {
                reporter.fail(ae_path, "AE title " + quote_value(trim_spaces(ae)) +
                                           " is already listed for township " +
                                           quote_value(it->second.township) + " (" +
                                           reporter.describe(it->second.path) + ")");
            }
        }
    }
}

std::string indexed(const std::string& path, std::size_t i) {
    return path + "[" + std::to_string(i) + "]";
}

// Each item of `values` must pass `valid`; the message names the item and quotes its value.
template <typename Valid>
void check_items(const Reporter& reporter, const std::string& path,
                 const std::vector<std::string>& values, Valid valid,
                 std::string_view expectation) {
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (!valid(values[i])) {
            reporter.fail(indexed(path, i),
                          std::string(expectation) + ", got " + quote_value(values[i]));
        }
    }
}

void check_routing(const Reporter& reporter, const Config& config) {
    const RoutingSettings& routing = config.routing;
    check_range(reporter, "routing.stable_after_s", routing.stable_after_s, stable_after_range);

    std::set<std::string> township_names{std::string(unregistered_township)};
    for (const Township& township : config.townships) township_names.insert(township.name);
    std::set<std::string> destination_names;
    for (const ForwardDestination& d : config.forward.destinations)
        destination_names.insert(d.name);
    const std::string known_destinations = destination_names.empty()
                                               ? "none; add one under [[forward.destinations]]"
                                               : join(destination_names);

    for (std::size_t i = 0; i < routing.rules.size(); ++i) {
        const RouteRule& rule = routing.rules[i];
        const std::string path = indexed("routing.rules", i);
        check_items(reporter, path + ".modalities", rule.modalities, valid_modality,
                    modality_expectation);
        check_items(reporter, path + ".sop_classes", rule.sop_classes, valid_uid, uid_expectation);
        for (std::size_t j = 0; j < rule.townships.size(); ++j) {
            const std::string& name = rule.townships[j];
            if (!township_names.contains(name)) {
                reporter.fail(indexed(path + ".townships", j),
                              "unknown township " + quote_value(name) +
                                  " (known: " + join(township_names) + ")");
            }
        }
        if (rule.priority &&
            std::find(priorities.begin(), priorities.end(), *rule.priority) == priorities.end()) {
            reporter.fail(path + ".priority", "expected one of " + join(priority_names));
        }
        if (rule.queues.empty() && rule.forward.empty()) {
            // Point at whichever of the two keys the file gave (as an empty array), else the rule.
            const std::string where = reporter.noted(path + ".queues")    ? path + ".queues"
                                      : reporter.noted(path + ".forward") ? path + ".forward"
                                                                          : path;
            reporter.fail_with(where, path +
                                          ": expected at least one reading queue (queues) or "
                                          "forward destination (forward); the rule sends "
                                          "objects nowhere");
        }
        check_items(reporter, path + ".queues", rule.queues, valid_queue_name, queue_expectation);
        for (std::size_t j = 0; j < rule.forward.size(); ++j) {
            const std::string& name = rule.forward[j];
            if (!destination_names.contains(name)) {
                reporter.fail(indexed(path + ".forward", j),
                              "unknown forward destination " + quote_value(name) +
                                  " (known: " + known_destinations + ")");
            }
        }
    }
}

void check_principals(const Reporter& reporter, const Config& config) {
    std::set<std::string> townships;
    std::map<std::string, std::string> township_aes;  // AE title -> township
    for (const Township& t : config.townships) {
        townships.insert(t.name);
        for (const auto& ae : t.ae_titles) township_aes.emplace(trim_spaces(ae), t.name);
    }
    std::map<std::string, std::string> viewer_aes;  // AE title -> where first listed
    std::map<std::string, std::string, std::less<>> name_paths;
    for (std::size_t i = 0; i < config.api.principals.size(); ++i) {
        const Principal& p = config.api.principals[i];
        const std::string path = indexed("api.principals", i);
        if (!valid_token_name(p.name)) {
            reporter.fail(path + ".name",
                          std::string(token_name_expectation) + ", got " + quote_value(p.name));
        }
        if (const auto [it, added] = name_paths.emplace(p.name, path + ".name"); !added) {
            reporter.fail(path + ".name", "duplicate principal name " + quote_value(p.name) +
                                              " (also " + reporter.describe(it->second) + ")");
        }
        if (std::find(roles.begin(), roles.end(), p.role) == roles.end()) {
            reporter.fail(path + ".role", "expected one of " + join(role_names));
        }
        if (p.role == Role::uploader) {
            if (!townships.contains(p.township)) {
                reporter.fail(
                    path + ".township",
                    "an uploader needs the township it uploads for, one of [[townships]]" +
                        (townships.empty() ? std::string(" (none configured)")
                                           : " (" + join(townships) + ")") +
                        ", got " + quote_value(p.township));
            }
        } else if (!p.township.empty()) {
            reporter.fail(path + ".township", "only uploaders have a township");
        }
        if (p.role == Role::reader) {
            if (p.queues.empty()) {
                reporter.fail(path + ".queues", "a reader needs the queues it may read");
            }
            check_items(reporter, path + ".queues", p.queues, valid_queue_name, queue_expectation);
        } else if (!p.queues.empty()) {
            reporter.fail(path + ".queues",
                          "only readers are limited to queues (ops and admin see all)");
        }
        if (!p.ae_titles.empty() && p.role != Role::reader && p.role != Role::admin) {
            reporter.fail(path + ".ae_titles",
                          "only readers and admins have DICOM viewers (C-FIND reads studies)");
        }
        if (!p.ae_hosts.empty() && p.ae_titles.empty()) {
            reporter.fail(path + ".ae_hosts",
                          "ae_hosts limits the viewers of ae_titles; none listed");
        }
        for (std::size_t j = 0; j < p.ae_hosts.size(); ++j) {
            if (!canonical_address(p.ae_hosts[j])) {
                reporter.fail(
                    path + ".ae_hosts[" + std::to_string(j) + "]",
                    "expected an IPv4 or IPv6 address, got " + quote_value(p.ae_hosts[j]));
            }
        }
        for (std::size_t j = 0; j < p.ae_titles.size(); ++j) {
            const std::string ae_path = path + ".ae_titles[" + std::to_string(j) + "]";
            const std::string ae(trim_spaces(p.ae_titles[j]));
            check_ae_title(reporter, ae_path, p.ae_titles[j]);
            if (const auto t = township_aes.find(ae); t != township_aes.end()) {
                reporter.fail(ae_path, "AE title " + quote_value(ae) + " is township " +
                                           quote_value(t->second) + "'s equipment, not a viewer");
            }
            if (const auto [it, added] = viewer_aes.emplace(ae, ae_path); !added) {
                reporter.fail(ae_path, "AE title " + quote_value(ae) + " is already listed (" +
                                           reporter.describe(it->second) + ")");
            }
        }
    }
}

// Token values are secrets: no message here quotes one, only the key it is under.
void check_api(const Reporter& reporter, const ApiSettings& api) {
    check_range(reporter, "api.lease_s", api.lease_s, lease_range);
    std::map<std::string, std::string, std::less<>> name_paths;   // name -> where first seen
    std::map<std::string, std::string, std::less<>> token_paths;  // token -> where first seen
    for (std::size_t i = 0; i < api.tokens.size(); ++i) {
        const ApiToken& token = api.tokens[i];
        const std::string path = indexed("api.tokens", i);
        const std::string name_path = path + ".name";
        const std::string token_path = path + ".token";
        if (!valid_token_name(token.name)) {
            reporter.fail(name_path,
                          std::string(token_name_expectation) + ", got " + quote_value(token.name));
        }
        if (const auto [it, added] = name_paths.emplace(token.name, name_path); !added) {
            reporter.fail(name_path, "duplicate token name " + quote_value(token.name) + " (also " +
                                         reporter.describe(it->second) + ")");
        }
        if (!valid_token(token.token)) reporter.fail(token_path, token_problem(token.token));
        if (!api.principals.empty() &&
            std::none_of(api.principals.begin(), api.principals.end(),
                         [&](const Principal& p) { return p.name == token.name; })) {
            reporter.fail(name_path, "no principal " + quote_value(token.name) +
                                         " in [[api.principals]]; every token names one");
        }
        if (const auto [it, added] = token_paths.emplace(token.token, token_path); !added) {
            reporter.fail_with(token_path, "token of " + path + " is the same as the token of " +
                                               parent_path(it->second) + " (" +
                                               reporter.describe(it->second) +
                                               "); each client needs its own token");
        }
    }
}

// The port has a default, so only a file can say it was given (read_destination refuses it).
void check_stowrs_destination(const Reporter& reporter, const std::string& path,
                              const ForwardDestination& destination) {
    if (!destination.ae_title.empty()) {
        reporter.fail(path + ".ae_title", dicom_key_message("ae_title"));
    }
    if (!destination.host.empty()) reporter.fail(path + ".host", dicom_key_message("host"));
    if (!destination.calling_ae.empty()) {
        reporter.fail(path + ".calling_ae", dicom_key_message("calling_ae"));
    }
    if (const auto problem = url_problem(destination.url)) reporter.fail(path + ".url", *problem);
    // Secret: the message names the key and what is wrong, never the value.
    if (!destination.token.empty() && !valid_token(destination.token)) {
        reporter.fail(path + ".token", token_problem(destination.token));
    }
}

void check_forward(const Reporter& reporter, const ForwardSettings& forward) {
    check_range(reporter, "forward.retry_deadline_s", forward.retry_deadline_s,
                retry_deadline_range);
    check_range(reporter, "forward.backoff_initial_s", forward.backoff_initial_s,
                backoff_initial_range);
    check_range(reporter, "forward.backoff_max_s", forward.backoff_max_s, backoff_max_range);
    if (forward.backoff_max_s < forward.backoff_initial_s) {
        reporter.fail("forward.backoff_max_s",
                      "expected at least " + std::to_string(forward.backoff_initial_s) + " (" +
                          reporter.describe("forward.backoff_initial_s") + "), got " +
                          std::to_string(forward.backoff_max_s));
    }
    check_range(reporter, "forward.batch", forward.batch, batch_range);

    std::map<std::string, std::string, std::less<>> name_paths;  // name -> where first seen
    for (std::size_t i = 0; i < forward.destinations.size(); ++i) {
        const ForwardDestination& destination = forward.destinations[i];
        const std::string path = indexed("forward.destinations", i);
        const std::string name_path = path + ".name";
        if (!valid_destination_name(destination.name)) {
            reporter.fail(name_path, std::string(destination_expectation) + ", got " +
                                         quote_value(destination.name));
        }
        if (const auto [it, added] = name_paths.emplace(destination.name, name_path); !added) {
            reporter.fail(name_path, "duplicate destination name " + quote_value(destination.name) +
                                         " (also " + reporter.describe(it->second) + ")");
        }
        if (!valid_destination_type(destination.type)) {
            reporter.fail(path + ".type", destination_type_expectation() + ", got " +
                                              quote_value(destination.type));
        }
        if (destination.type == stowrs_destination) {
            check_stowrs_destination(reporter, path, destination);
            continue;
        }
        if (!destination.url.empty()) {
            reporter.fail(path + ".url", stowrs_key_message("url", true));
        }
        if (!destination.token.empty()) {
            reporter.fail(path + ".token", stowrs_key_message("token", true));
        }
        check_ae_title(reporter, path + ".ae_title", destination.ae_title);
        if (!valid_host(destination.host)) {
            reporter.fail(path + ".host",
                          std::string(host_expectation) + ", got " + quote_value(destination.host));
        }
        check_range(reporter, path + ".port", destination.port, destination_port_range);
        if (!destination.calling_ae.empty()) {
            check_ae_title(reporter, path + ".calling_ae", destination.calling_ae);
        }
    }
}

// AE titles we call (`where`: the array's path): valid, listed once, each with an address.
void check_remote_aes(const Reporter& reporter, const std::string& where,
                      const std::vector<RemoteAe>& peers) {
    std::map<std::string, std::string, std::less<>> ae_paths;  // trimmed AE -> where first seen
    for (std::size_t i = 0; i < peers.size(); ++i) {
        const RemoteAe& peer = peers[i];
        const std::string path = indexed(where, i);
        check_ae_title(reporter, path + ".ae_title", peer.ae_title);
        const auto [it, added] =
            ae_paths.emplace(std::string(trim_spaces(peer.ae_title)), path + ".ae_title");
        if (!added) {
            reporter.fail(path + ".ae_title", "AE title " + quote_value(peer.ae_title) +
                                                  " is listed twice (also " +
                                                  reporter.describe(it->second) + ")");
        }
        if (!valid_host(peer.host)) {
            reporter.fail(path + ".host",
                          std::string(host_expectation) + ", got " + quote_value(peer.host));
        }
        check_range(reporter, path + ".port", peer.port, destination_port_range);
    }
}

void check_turnaround(const Reporter& reporter, const TurnaroundSettings& turnaround) {
    check_range(reporter, "turnaround.stat_s", turnaround.stat_s, turnaround_range);
    check_range(reporter, "turnaround.urgent_s", turnaround.urgent_s, turnaround_range);
    check_range(reporter, "turnaround.routine_s", turnaround.routine_s, turnaround_range);
}

void check_tls(const Reporter& reporter, const Config& config) {
    const DicomSettings& dicom = config.dicom;
    check_range(reporter, "dicom.tls_port", dicom.tls_port, port_range);
    if (!dicom.plain && !dicom.tls) {
        reporter.fail("dicom.plain", "false with dicom.tls false leaves no DICOM listener");
    }
    if (dicom.tls && dicom.plain && dicom.tls_port == dicom.port && dicom.port != 0) {
        reporter.fail("dicom.tls_port", std::to_string(dicom.port) +
                                            " is also dicom.port; TLS needs a port of its own");
    }
    if (dicom.tls && dicom.tls_port == config.http.port && dicom.tls_port != 0) {
        reporter.fail("dicom.tls_port", std::to_string(dicom.tls_port) +
                                            " is also http.port; the listeners need their own");
    }
    const bool any = dicom.tls || config.http.tls;
    const char* who = dicom.tls ? "dicom.tls" : "http.tls";
    if (any && config.tls.certificate.empty()) {
        reporter.fail("tls.certificate",
                      std::string("missing; ") + who + " needs our certificate (a PEM file path)");
    }
    if (any && config.tls.private_key.empty()) {
        reporter.fail("tls.private_key",
                      std::string("missing; ") + who + " needs the certificate's key (PEM file)");
    }
    if (dicom.tls && config.tls.ca.empty()) {
        reporter.fail("tls.ca",
                      "missing; dicom.tls verifies township equipment certificates against "
                      "this CA (a PEM file path)");
    }
}

void check_rules(const Config& config, const Reporter& reporter) {
    const DicomSettings& dicom = config.dicom;
    check_range(reporter, "dicom.port", dicom.port, port_range);
    check_ae_title(reporter, "dicom.ae_title", dicom.ae_title);
    if (dicom.bind.empty()) reporter.fail("dicom.bind", "expected an address, got ''");
    check_range(reporter, "dicom.max_pdu_bytes", dicom.max_pdu_bytes, pdu_range);
    check_range(reporter, "dicom.max_object_bytes", dicom.max_object_bytes, object_range);
    check_range(reporter, "dicom.artim_timeout_s", dicom.artim_timeout_s, artim_range);
    check_range(reporter, "dicom.idle_timeout_s", dicom.idle_timeout_s, idle_range);
    check_range(reporter, "dicom.max_associations", dicom.max_associations, associations_range);

    check_range(reporter, "http.port", config.http.port, port_range);
    if (config.http.bind.empty()) reporter.fail("http.bind", "expected an address, got ''");
    // Both listeners are TCP: one port on overlapping addresses would fail at start-up instead.
    if (config.http.port == dicom.port && dicom.port != 0 &&
        (config.http.bind == dicom.bind || is_wildcard(config.http.bind) ||
         is_wildcard(dicom.bind))) {
        reporter.fail("http.port",
                      std::to_string(dicom.port) +
                          " is also dicom.port; the two listeners need different ports");
    }

    if (config.storage.data_dir.empty()) {
        reporter.fail("storage.data_dir", "expected a directory path, got ''");
    }
    check_range(reporter, "storage.zstd_level", config.storage.zstd_level, zstd_range);

    const std::set<std::string>& known = codecs::dicom::known_finding_codes();
    for (std::size_t i = 0; i < config.validation.fatal.size(); ++i) {
        const std::string& code = config.validation.fatal[i];
        if (!known.contains(code)) {
            reporter.fail(
                "validation.fatal[" + std::to_string(i) + "]",
                "unknown finding code " + quote_value(code) + " (known: " + join(known) + ")");
        }
    }

    check_range(reporter, "server.workers", config.server.workers, workers_range);
    if (std::find(log_levels.begin(), log_levels.end(), config.server.log_level) ==
        log_levels.end()) {
        reporter.fail("server.log_level", "expected one of " + join(log_levels) + ", got " +
                                              quote_value(config.server.log_level));
    }

    check_tls(reporter, config);
    check_townships(reporter, config.townships);
    check_forward(reporter, config.forward);  // before routing: rules name its destinations
    check_remote_aes(reporter, "storage_commitment.peers", config.storage_commitment.peers);
    check_remote_aes(reporter, "dicom.move_destinations", config.dicom.move_destinations);
    check_range(reporter, "retention.purge_after_days", config.retention.purge_after_days,
                retention_days_range);
    check_range(reporter, "retention.run_at_hour", config.retention.run_at_hour, hour_range);
    check_routing(reporter, config);
    check_api(reporter, config.api);
    check_principals(reporter, config);
    check_turnaround(reporter, config.turnaround);
}

}  // namespace

const char* priority_name(Priority p) {
    switch (p) {
        case Priority::stat:
            return "stat";
        case Priority::urgent:
            return "urgent";
        case Priority::routine:
            return "routine";
    }
    return "unknown";  // only a value cast from outside the enum; validate() refuses it
}

const char* role_name(Role role) {
    switch (role) {
        case Role::uploader:
            return "uploader";
        case Role::reader:
            return "reader";
        case Role::ops:
            return "ops";
        case Role::admin:
            return "admin";
    }
    return "unknown";
}

bool Config::township_lists(const std::string& township, const std::string& calling_ae) const {
    const std::string_view wanted = trim_spaces(calling_ae);
    for (const Township& t : townships) {
        if (t.name != township) continue;
        for (const std::string& ae : t.ae_titles) {
            if (!wanted.empty() && trim_spaces(ae) == wanted) return true;
        }
    }
    return false;
}

const CommitmentPeer* Config::commitment_peer(const std::string& calling_ae) const {
    const std::string_view wanted = trim_spaces(calling_ae);
    for (const CommitmentPeer& peer : storage_commitment.peers) {
        if (!wanted.empty() && trim_spaces(peer.ae_title) == wanted) return &peer;
    }
    return nullptr;
}

const Principal* Config::principal(std::string_view name) const {
    for (const Principal& p : api.principals) {
        if (p.name == name) return &p;
    }
    return nullptr;
}

bool Principal::viewer_may_call_from(const std::string& address) const {
    if (ae_hosts.empty()) return true;
    const auto caller = canonical_address(address);
    return caller && std::any_of(ae_hosts.begin(), ae_hosts.end(), [&](const std::string& h) {
               return canonical_address(h) == caller;
           });
}

const RemoteAe* Config::move_destination(const std::string& ae_title) const {
    const std::string_view wanted = trim_spaces(ae_title);
    for (const RemoteAe& d : dicom.move_destinations) {
        if (!wanted.empty() && trim_spaces(d.ae_title) == wanted) return &d;
    }
    return nullptr;
}

const Principal* Config::principal_of_ae(const std::string& calling_ae) const {
    const std::string_view wanted = trim_spaces(calling_ae);
    for (const Principal& p : api.principals) {
        for (const std::string& ae : p.ae_titles) {
            if (!wanted.empty() && trim_spaces(ae) == wanted) return &p;
        }
    }
    return nullptr;
}

std::optional<std::string> Config::township_of(const std::string& calling_ae) const {
    // A linear scan: a county has tens of townships, and this runs once per association.
    const std::string_view wanted = trim_spaces(calling_ae);
    if (!wanted.empty()) {
        for (const Township& township : townships) {
            for (const std::string& ae : township.ae_titles) {
                if (trim_spaces(ae) == wanted) return township.name;
            }
        }
    }
    if (dicom.accept_unregistered) return std::string(unregistered_township);
    return std::nullopt;
}

// The defaults live in the member initialisers of config.hpp, the one place they are written.
Config embedded_default() {
    return Config{};
}

Config parse_toml(const std::string& text, const std::string& origin) {
    toml::table root;
    try {
        root = toml::parse(text, origin);
    } catch (const toml::parse_error& error) {
        const toml::source_position where = error.source().begin;
        throw ConfigError(origin + ":" + std::to_string(where.line) + ":" +
                          std::to_string(where.column) +
                          ": TOML syntax error: " + std::string(error.description()));
    }
    Reporter reporter(origin);
    Config config = embedded_default();
    read_root(root, reporter, config);
    add_always_fatal(config.validation.fatal);
    check_rules(config, reporter);
    return config;
}

Config load_file(const std::filesystem::path& path) {
    const std::string name = path.string();
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        throw ConfigError("cannot read config file '" + name + "': it is a directory");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw ConfigError("cannot open config file '" + name +
                          "': " + std::error_code(errno, std::generic_category()).message());
    }
    std::string text;
    try {
        text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    } catch (const std::ios_base::failure& error) {
        throw ConfigError("cannot read config file '" + name + "': " + error.what());
    }
    if (in.bad()) throw ConfigError("cannot read config file '" + name + "'");
    return parse_toml(text, name);
}

void validate(const Config& config) {
    check_rules(config, Reporter(""));
}

}  // namespace countylink::config
