// The typed configuration of countylinkd: every setting, its default, and how it is loaded.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace countylink::config {

// The township label of a calling AE title that no township lists (when such callers are let in).
inline constexpr std::string_view unregistered_township = "unregistered";

// A township and the calling AE titles of its equipment; `name` labels metrics and the index.
struct Township {
    std::string name;
    std::vector<std::string> ae_titles;

    bool operator==(const Township&) const = default;
};

// A DICOM application entity we call: its AE title (the Called AE Title we use) and address.
struct RemoteAe {
    std::string ae_title;
    std::string host;
    uint16_t port = 104;

    bool operator==(const RemoteAe&) const = default;
};

struct DicomSettings {
    uint16_t port = 11112;
    std::string ae_title = "COUNTYLINK";
    std::string bind = "0.0.0.0";
    uint32_t max_pdu_bytes = 262144;         // our receive limit, announced in A-ASSOCIATE-AC
    uint64_t max_object_bytes = 8ull << 30;  // larger objects are refused with 0xA700
    uint32_t artim_timeout_s = 30;           // connect -> A-ASSOCIATE-RQ, release -> close
    uint32_t idle_timeout_s = 300;           // no PDU for this long -> A-ABORT
    uint32_t max_associations = 4000;        // beyond: A-ASSOCIATE-RJ transient, local limit
    bool accept_unregistered = true;         // unknown calling AE -> township "unregistered"
    bool plain = true;                       // the plain listener on `port`; false: TLS only
    bool tls = false;                        // the DICOM TLS listener on `tls_port` (mutual TLS)
    uint16_t tls_port = 2762;                // DICOM TLS by convention (PS3.15 B.1)
    // Where C-MOVE may send (a viewer's own storage SCP, the county PACS), by AE title.
    std::vector<RemoteAe> move_destinations;

    bool operator==(const DicomSettings&) const = default;
};

struct HttpSettings {
    uint16_t port = 8080;
    std::string bind = "0.0.0.0";
    bool tls = false;            // HTTPS on `port` for the whole HTTP API
    bool public_metrics = true;  // /metrics without credentials; false: the ops role only

    bool operator==(const HttpSettings&) const = default;
};

struct StorageSettings {
    std::filesystem::path data_dir = "./var";
    int zstd_level = 1;  // 1..19; after the sample pre-filter, 3 saved < 1 % for 1.3-2x the CPU

    bool operator==(const StorageSettings&) const = default;
};

// Names of validation findings (see codecs/dicom/dataset_check.hpp) treated as fatal.
struct ValidationSettings {
    std::vector<std::string> fatal = {"unparseable", "missing_uid", "malformed_uid", "uid_mismatch",
                                      "pixel_data_short"};

    bool operator==(const ValidationSettings&) const = default;
};

struct ServerSettings {
    uint32_t workers = 4;            // threads for parsing, compression, fsync
    std::string log_level = "info";  // debug, info, warn, error

    bool operator==(const ServerSettings&) const = default;
};

// Reading priority: STAT before urgent before routine (the enum order is the queue order).
enum class Priority { stat = 0, urgent = 1, routine = 2 };

// "stat", "urgent" or "routine" (what config files and the API say).
const char* priority_name(Priority p);

// A routing rule: an object matching every non-empty condition goes to `queues` (and, later,
// forward destinations). `priority` overrides the object's own when set.
struct RouteRule {
    std::vector<std::string> modalities;   // e.g. ["CT", "DX"]; empty: any
    std::vector<std::string> sop_classes;  // UIDs; empty: any
    std::vector<std::string> townships;    // township names; empty: any
    std::optional<Priority> priority;
    std::vector<std::string> queues;   // reading queues
    std::vector<std::string> forward;  // forward destination names; a rule needs a queue or one
    // ECG quality verdicts ("acceptable", "unacceptable"); empty: any object. Non-empty: only
    // ECGs with one of these verdicts (e.g. unacceptable ones to a township's redo queue).
    std::vector<std::string> ecg_verdicts;

    bool operator==(const RouteRule&) const = default;
};

struct RoutingSettings {
    // A study becomes a worklist item once no instance arrived for this long (ECGs at once).
    uint32_t stable_after_s = 60;
    // Empty: the defaults, "imaging" for every image object and "ecg" for waveforms.
    std::vector<RouteRule> rules;

    bool operator==(const RoutingSettings&) const = default;
};

// A county PACS (or any C-STORE SCP) the forward outbox sends copies to.
struct ForwardDestination {
    std::string name;            // [a-z0-9_-]{1,32}, used in rules, metrics and countylinkctl
    std::string type = "dicom";  // "dicom" (C-STORE) or "stowrs" (DICOMweb STOW-RS)
    std::string url;             // stowrs: http://host:port/prefix; "/studies" is appended
    std::string token;           // stowrs: bearer token to send, if any
    std::string ae_title;        // the destination's (called) AE title
    std::string host;
    uint16_t port = 104;
    std::string calling_ae;  // ours towards it; empty: dicom.ae_title

    bool operator==(const ForwardDestination&) const = default;
};

struct ForwardSettings {
    std::vector<ForwardDestination> destinations;
    uint32_t retry_deadline_s = 7 * 86400;  // then an item is dead-lettered (a weekend outage fits)
    uint32_t backoff_initial_s = 5;         // doubled per failure, with jitter
    uint32_t backoff_max_s = 600;
    uint32_t batch = 50;  // objects sent per association

    bool operator==(const ForwardSettings&) const = default;
};

// Equipment that takes its Storage Commitment report on an association of its own (it closes
// the one it asked on): we call it back at this address. Others get the report where they asked.
using CommitmentPeer = RemoteAe;

struct StorageCommitmentSettings {
    std::vector<CommitmentPeer> peers;

    bool operator==(const StorageCommitmentSettings&) const = default;
};

// Certificates for DICOM TLS and HTTPS (PEM files), re-read on SIGHUP.
struct TlsSettings {
    std::string certificate;  // our certificate (and its chain)
    std::string private_key;  // its key, unencrypted (file mode 0600)
    std::string ca;           // the CA(s) client certificates must chain to

    bool operator==(const TlsSettings&) const = default;
};

// What a principal of the HTTP API may do (see docs/security.md): uploaders push for their
// township, readers read and claim their queues, ops watch, admins do everything.
enum class Role { uploader, reader, ops, admin };

// "uploader", "reader", "ops" or "admin".
const char* role_name(Role role);

// A user or system of the HTTP API. Tokens and client certificates (subject CN = name) map to it.
struct Principal {
    std::string name;
    Role role = Role::reader;
    std::string township;             // uploader: the township it uploads for
    std::vector<std::string> queues;  // reader: the reading queues it may read and claim
    // Calling AE titles of its DICOM viewers (reader, admin): they may query (C-FIND) what it
    // may read over HTTP, and store nothing.
    std::vector<std::string> ae_titles;
    // IP addresses those viewers call from; empty: any (AE titles are not secrets).
    std::vector<std::string> ae_hosts;

    // Whether a viewer of this principal may call from `address` (an IP literal).
    bool viewer_may_call_from(const std::string& address) const;

    bool operator==(const Principal&) const = default;
};

// A bearer token for the HTTP API and the name it authenticates as.
struct ApiToken {
    std::string name;
    std::string token;

    bool operator==(const ApiToken&) const = default;
};

struct ApiSettings {
    std::vector<ApiToken> tokens;  // empty: a generated admin token in <data-dir>/admin.token
    std::string token_file;        // lines "<sha256 hex of token> <principal name>"
    // Empty: every token acts as admin (configs from before roles). Otherwise every token
    // must name one of these.
    std::vector<Principal> principals;
    uint32_t lease_s = 900;  // how long a claim holds an item (default 15 min)

    bool operator==(const ApiSettings&) const = default;
};

// Turnaround targets (received -> reported) per priority, in seconds; breaches are counted.
struct TurnaroundSettings {
    uint32_t stat_s = 30 * 60;
    uint32_t urgent_s = 4 * 3600;
    uint32_t routine_s = 24 * 3600;

    bool operator==(const TurnaroundSettings&) const = default;
};

// The nightly purge the server runs itself: studies forwarded and read, stored more than
// purge_after_days ago, go at run_at_hour (local time); the same purge as countylinkctl purge.
struct RetentionSettings {
    uint32_t purge_after_days = 0;  // 0: off (the default: nothing is deleted unasked)
    uint32_t run_at_hour = 2;       // 0-23, local time

    bool operator==(const RetentionSettings&) const = default;
};

// What the ECG quality gate's notes mean for the verdict. By default a likely LA/RA reversal
// and muscle noise above 40 Hz are told to the sender beside an acceptable verdict; a site that
// wants a redo for them makes them reasons (docs/ecg-quality.md says why they are notes).
struct EcgSettings {
    bool reversal_is_unacceptable = false;
    bool muscle_noise_is_unacceptable = false;

    bool operator==(const EcgSettings&) const = default;
};

// The audit trail (JSON lines): empty file means <data_dir>/audit.jsonl.
struct AuditSettings {
    std::string file;

    bool operator==(const AuditSettings&) const = default;
};

struct Config {
    DicomSettings dicom;
    HttpSettings http;
    TlsSettings tls;
    AuditSettings audit;
    StorageSettings storage;
    ValidationSettings validation;
    ServerSettings server;
    RoutingSettings routing;
    ApiSettings api;
    TurnaroundSettings turnaround;
    ForwardSettings forward;
    StorageCommitmentSettings storage_commitment;
    RetentionSettings retention;
    EcgSettings ecg;
    std::vector<Township> townships;

    // The township of a calling AE title: its configured name, "unregistered" when unknown and
    // accepted, nullopt when unknown and refused.
    std::optional<std::string> township_of(const std::string& calling_ae) const;

    // Whether `calling_ae` is listed for `township` (spaces trimmed as in township_of).
    bool township_lists(const std::string& township, const std::string& calling_ae) const;

    // Where to send `calling_ae`'s Storage Commitment reports (spaces trimmed), or nullptr: on
    // the association it asked on.
    const CommitmentPeer* commitment_peer(const std::string& calling_ae) const;

    // The principal of this name, or nullptr.
    const Principal* principal(std::string_view name) const;

    // The C-MOVE destination with this AE title (spaces trimmed), or nullptr.
    const RemoteAe* move_destination(const std::string& ae_title) const;

    // The principal whose ae_titles list `calling_ae` (spaces trimmed), or nullptr.
    const Principal* principal_of_ae(const std::string& calling_ae) const;

    bool operator==(const Config&) const = default;
};

// Thrown for any problem in a config file; what() names the key and what is allowed.
class ConfigError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// The embedded default: what countylinkd runs with when no file is given.
Config embedded_default();

// Parses TOML text into a Config starting from embedded_default(); throws ConfigError naming
// the key (e.g. "dicom.port: expected an integer 1-65535, got string") for unknown keys,
// wrong types or values out of range. `origin` is used in messages (a file name).
Config parse_toml(const std::string& text, const std::string& origin = "config");

// Reads and parses a file; throws ConfigError (also when the file cannot be read).
Config load_file(const std::filesystem::path& path);

// Checks cross-field rules (e.g. an AE title in two townships, AE title length <= 16);
// throws ConfigError. parse_toml calls it; callers that edit a Config call it again.
void validate(const Config& config);

}  // namespace countylink::config
