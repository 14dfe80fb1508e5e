// Test harness for integration tests: the real countylinkd as a child process, real DCMTK
// tools run through the shell, and plain HTTP/TCP clients. Paths come from compile
// definitions set in tests/CMakeLists.txt.
#pragma once

#include <poll.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "gateway/dicom/pdu.hpp"
#include "tests/support/temp_dir.hpp"

namespace countylink::testing {

namespace fs = std::filesystem;

// ../shared, checked to exist (a missing corpus fails the test with a clear message).
fs::path shared_dir();
fs::path bin_dir();
fs::path source_dir();

struct CommandResult {
    int exit_code = -1;
    std::string output;  // stdout and stderr together
};

// Runs a shell command line; TCP_NODELAY=1 is exported so DCMTK tools do not wait on Nagle.
CommandResult run(const std::string& command_line);

// Reads the whole file.
std::vector<std::byte> read_file(const fs::path& file);

// Writes `count` synthetic objects of `kind` (countylink-synth, reproducible by `seed`) into
// `dir` and returns it; a failure of the tool fails the test.
fs::path synth(const fs::path& dir, const std::string& kind, int count, int seed);

// The value of a DICOM attribute ("0008,0018") in a file, as dcmdump prints it (UIDs as
// numbers); empty when absent.
std::string dicom_value(const fs::path& file, const std::string& tag);

// The dataset bytes of a Part-10 file (what follows the file meta group).
std::vector<std::byte> dataset_bytes(const std::vector<std::byte>& part10);

struct HttpResponse {
    int status = 0;
    std::string content_type;
    std::string body;
};

// A running countylinkd on ephemeral ports with its own data directory. The constructor
// returns once the server logged that it listens; the destructor stops it (SIGTERM).
class Gateway {
  public:
    // `config_toml` (optional) is written to a file and passed with --config; `environment`
    // ("NAME=value") is added to the server's (e.g. libfaketime's, to run it in another time).
    explicit Gateway(const fs::path& data_dir, const std::string& config_toml = {},
                     std::vector<std::string> environment = {});
    ~Gateway();
    Gateway(const Gateway&) = delete;
    Gateway& operator=(const Gateway&) = delete;

    uint16_t dicom_port() const { return dicom_port_; }          // 0 when the plain port is off
    uint16_t dicom_tls_port() const { return dicom_tls_port_; }  // 0 without dicom.tls
    uint16_t http_port() const { return http_port_; }
    pid_t pid() const { return pid_; }
    // Everything the server logged so far.
    std::string log() const;
    // SIGKILL, and wait for it to be gone.
    void kill_hard();
    // Peak resident memory (VmHWM) in bytes, from /proc.
    uint64_t peak_rss_bytes() const;
    // The API token the server generated on first start (<data>/admin.token).
    std::string token() const;
    // GET on the server's HTTP port with its admin token.
    HttpResponse get(const std::string& target) const;
    // POST with the given bearer token and JSON body.
    HttpResponse post(const std::string& target, const std::string& token,
                      const std::string& body = {}) const;

  private:
    void start(const std::vector<std::string>& args);
    fs::path data_dir_, log_file_;
    std::vector<std::string> environment_;
    pid_t pid_ = -1;
    uint16_t dicom_port_ = 0, dicom_tls_port_ = 0, http_port_ = 0;
};

// GET http://127.0.0.1:port/target (Beast, synchronous), with a bearer token if not empty.
HttpResponse http_get(uint16_t port, const std::string& target, const std::string& token = {});

// A request with any method, bearer token and body.
HttpResponse http_request(uint16_t port, const std::string& method, const std::string& target,
                          const std::string& token, const std::string& body);

// An A-ASSOCIATE-RQ for Verification, for raw protocol tests.
dicom::AssociateRq verification_rq(const std::string& calling_ae,
                                   const std::string& called_ae = "COUNTYLINK");

// A peer program (e.g. storescp) running in the background, output to `log`; killed with
// SIGTERM on destruction.
class Process {
  public:
    Process(const std::vector<std::string>& args, const fs::path& log);
    ~Process();
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

  private:
    pid_t pid_ = -1;
};

// The dataset bytes DCMTK storescp (+xa, bit-preserving) receives when `sender` (a command
// line prefix such as "storescu -R", to which "-aec X 127.0.0.1 PORT FILE" is appended)
// sends `file`: the reference for what a sender really puts on the wire.
std::vector<std::byte> storescp_received(const std::string& sender, const fs::path& file);

// Waits (bounded) for `done`, asking every `every`: for what the server does on its own clock
// (the queue tick, the forwarder, a signal handler) and announces nowhere a test can wait on.
// Returns done()'s last answer.
template <typename Fn>
bool eventually(Fn done, std::chrono::seconds limit = std::chrono::seconds(60),
                std::chrono::milliseconds every = std::chrono::milliseconds(100)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        if (done()) return true;
        ::poll(nullptr, 0, static_cast<int>(every.count()));
    }
    return done();
}

// A free TCP port on loopback (bound and released).
uint16_t free_port();

// Blocks until something accepts TCP connections on 127.0.0.1:port, or throws after `limit`.
void wait_for_port(uint16_t port, std::chrono::seconds limit = std::chrono::seconds(20));

// A raw TCP client for protocol abuse tests.
class RawClient {
  public:
    explicit RawClient(uint16_t port);
    ~RawClient();
    void send(const std::vector<std::byte>& bytes);
    void send(const std::string& bytes);
    // Reads until the peer closes or `limit` passes; returns what arrived.
    std::vector<std::byte> read_until_closed(std::chrono::seconds limit);
    void close_write();

  private:
    int fd_ = -1;
};

// A real Orthanc (the Debian package) on loopback with its own storage: the county PACS, or
// equipment that asks for Storage Commitment. AE title ORTHANC.
class Orthanc {
  public:
    explicit Orthanc(const fs::path& dir);
    // Lets Orthanc call (and take calls from) `ae_title` at 127.0.0.1:port as REST name `name`;
    // before start().
    void add_modality(const std::string& name, const std::string& ae_title, uint16_t port);
    // Writes its configuration, starts it and waits for both its ports.
    void start();
    void stop();
    uint16_t dicom_port() const { return dicom_port_; }
    uint16_t http_port() const { return http_port_; }
    std::size_t instance_count() const;
    // The stored file of the instance with this SOP Instance UID; empty if absent.
    std::string file_of(const std::string& sop_uid) const;

  private:
    struct Modality {
        std::string name, ae_title;
        uint16_t port;
    };
    fs::path dir_;
    uint16_t dicom_port_, http_port_;
    std::vector<Modality> modalities_;
    std::unique_ptr<Process> process_;
};

}  // namespace countylink::testing
