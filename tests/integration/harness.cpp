#include "tests/integration/harness.hpp"

#include <boost/json.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include "codecs/dicom/part10.hpp"

namespace countylink::testing {

fs::path shared_dir() {
    const fs::path dir = fs::weakly_canonical(COUNTYLINK_SHARED_DIR);
    if (!fs::exists(dir / "corpus" / "MANIFEST.md")) {
        throw std::runtime_error("test corpus missing: expected " + dir.string() +
                                 "/corpus/MANIFEST.md (clone the project next to shared/)");
    }
    return dir;
}

fs::path bin_dir() {
    return COUNTYLINK_BIN_DIR;
}
fs::path source_dir() {
    return COUNTYLINK_SOURCE_DIR;
}

dicom::AssociateRq verification_rq(const std::string& calling_ae, const std::string& called_ae) {
    dicom::AssociateRq rq;
    rq.called_ae = called_ae;
    rq.calling_ae = calling_ae;
    rq.application_context = "1.2.840.10008.3.1.1.1";
    rq.contexts.push_back({1, "1.2.840.10008.1.1", {"1.2.840.10008.1.2"}});
    rq.user.max_pdu_length = 16384;
    rq.user.implementation_class_uid = "1.2.3.4";
    return rq;
}

CommandResult run(const std::string& command_line) {
    // bash, not sh: tests use process substitution. Single quotes are escaped for -c '...'.
    std::string quoted;
    for (char c : "export TCP_NODELAY=1; " + command_line) {
        quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    const std::string full = "bash -c '" + quoted + "' 2>&1";
    FILE* pipe = ::popen(full.c_str(), "r");
    if (!pipe) throw std::runtime_error("popen failed for: " + command_line);
    CommandResult result;
    char buffer[4096];
    std::size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, n);
    const int status = ::pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

std::vector<std::byte> read_file(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + file.string());
    std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::byte> out(chars.size());
    if (!chars.empty()) std::memcpy(out.data(), chars.data(), chars.size());  // may be null
    return out;
}

fs::path synth(const fs::path& dir, const std::string& kind, int count, int seed) {
    const auto r =
        run((bin_dir() / "countylink-synth").string() + " --out '" + dir.string() + "' --kind " +
            kind + " --count " + std::to_string(count) + " --seed " + std::to_string(seed));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return dir;
}

std::string dicom_value(const fs::path& file, const std::string& tag) {
    const auto out = run("dcmdump -q -Un +P " + tag + " '" + file.string() + "'").output;
    const auto open = out.find('['), close = out.find(']', open);
    return open == std::string::npos || close == std::string::npos
               ? std::string()
               : out.substr(open + 1, close - open - 1);
}

std::vector<std::byte> dataset_bytes(const std::vector<std::byte>& part10) {
    const auto offset = codecs::dicom::dataset_offset(part10);
    if (!offset) throw std::runtime_error("not a Part-10 file with a meta group length");
    return {part10.begin() + static_cast<std::ptrdiff_t>(*offset), part10.end()};
}

Gateway::Gateway(const fs::path& data_dir, const std::string& config_toml,
                 std::vector<std::string> environment)
    : data_dir_(data_dir), environment_(std::move(environment)) {
    fs::create_directories(data_dir_);
    log_file_ = data_dir_.parent_path() / (data_dir_.filename().string() + ".log");
    std::vector<std::string> args = {(bin_dir() / "countylinkd").string(),
                                     "--data-dir",
                                     data_dir_.string(),
                                     "--dicom-port",
                                     "0",
                                     "--http-port",
                                     "0"};
    if (!config_toml.empty()) {
        const fs::path config = data_dir_.parent_path() / (data_dir_.filename().string() + ".toml");
        std::ofstream(config) << config_toml;
        args.push_back("--config");
        args.push_back(config.string());
    }
    start(args);
}

void Gateway::start(const std::vector<std::string>& args) {
    // The server's stderr goes straight into the log file, so a line it logged before
    // answering a client is in the file when the client has its answer (no copying thread
    // that could lag behind).
    // Emptied here, before the child exists: a restart must not find the old "listening" line.
    std::ofstream(log_file_, std::ios::trunc).close();
    pid_ = ::fork();
    if (pid_ == 0) {
        // Dies with the test: a test process that aborts (a sanitizer report) must not leave
        // a server behind holding ctest's output pipe open until the timeout.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        const int fd = ::open(log_file_.c_str(), O_WRONLY | O_APPEND, 0644);
        ::dup2(fd, 1);
        ::dup2(fd, 2);
        ::close(fd);
        for (const auto& e : environment_) ::putenv(const_cast<char*>(e.c_str()));
        std::vector<char*> argv;
        for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        ::execv(argv[0], argv.data());
        std::perror("execv countylinkd");
        ::_exit(127);
    }
    // Start-up: wait (bounded) for the line that names the ports, or for the process to exit.
    std::string seen;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (;;) {
        seen = log();
        const auto at = seen.find("listening");
        if (at != std::string::npos && seen.find('\n', at) != std::string::npos) break;
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            throw std::runtime_error("countylinkd exited at start; its log:\n" + seen);
        }
        if (std::chrono::steady_clock::now() > deadline) {
            throw std::runtime_error("countylinkd did not start within 30 s; its log:\n" + seen);
        }
        ::poll(nullptr, 0, 10);
    }
    // "listening: [DICOM host:port ]AE X, [DICOM TLS host:port, ]HTTP host:port[ (TLS)], ..."
    static const std::regex http(R"(listening: .*HTTP [^ ]*:(\d+))");
    static const std::regex dicom(R"(listening: DICOM [^ ]*:(\d+) AE)");
    static const std::regex dicom_tls(R"(listening: .*DICOM TLS [^ ]*:(\d+))");
    std::smatch m;
    if (!std::regex_search(seen, m, http)) {
        throw std::runtime_error("countylinkd did not start; its log:\n" + seen);
    }
    http_port_ = static_cast<uint16_t>(std::stoi(m[1]));
    dicom_port_ = std::regex_search(seen, m, dicom) ? static_cast<uint16_t>(std::stoi(m[1])) : 0;
    dicom_tls_port_ =
        std::regex_search(seen, m, dicom_tls) ? static_cast<uint16_t>(std::stoi(m[1])) : 0;
}

Gateway::~Gateway() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    // A clean stop exits 0. Anything else is a finding: a crash, or a sanitizer report in the
    // server (ASan/UBSan abort, LeakSanitizer's exit code at shutdown, a TSan race).
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        const std::string all = log();
        ADD_FAILURE() << "countylinkd did not stop cleanly ("
                      << (WIFEXITED(status) ? "exit code " + std::to_string(WEXITSTATUS(status))
                                            : "signal " + std::to_string(WTERMSIG(status)))
                      << "); the end of its log:\n"
                      << all.substr(all.size() > 8000 ? all.size() - 8000 : 0);
    }
}

std::string Gateway::log() const {
    std::ifstream in(log_file_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

void Gateway::kill_hard() {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
}

uint64_t Gateway::peak_rss_bytes() const {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
    }
    throw std::runtime_error("no VmHWM for countylinkd");
}

HttpResponse http_request(uint16_t port, const std::string& method, const std::string& target,
                          const std::string& token, const std::string& body) {
    namespace asio = boost::asio;
    namespace http = boost::beast::http;
    asio::io_context io;
    asio::ip::tcp::socket socket(io);
    socket.connect({asio::ip::make_address("127.0.0.1"), port});
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, "127.0.0.1");
    if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
    if (!body.empty()) {
        req.set(http::field::content_type, "application/json");
        req.body() = body;
    }
    req.prepare_payload();
    http::write(socket, req);
    boost::beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(4ull << 30);
    http::read(socket, buffer, parser);
    auto res = parser.release();
    return {static_cast<int>(res.result_int()), std::string(res[http::field::content_type]),
            std::move(res.body())};
}

HttpResponse http_get(uint16_t port, const std::string& target, const std::string& token) {
    return http_request(port, "GET", target, token, {});
}

std::string Gateway::token() const {
    std::ifstream in(data_dir_ / "admin.token");
    std::string token;
    std::getline(in, token);
    return token;
}

HttpResponse Gateway::get(const std::string& target) const {
    return http_get(http_port_, target, token());
}

HttpResponse Gateway::post(const std::string& target, const std::string& token,
                           const std::string& body) const {
    return http_request(http_port_, "POST", target, token, body);
}

Process::Process(const std::vector<std::string>& args, const fs::path& log) {
    pid_ = ::fork();
    if (pid_ == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // as for the gateway: never outlive the test
        const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ::dup2(fd, 1);
        ::dup2(fd, 2);
        std::vector<char*> argv;
        for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        ::execvp(argv[0], argv.data());
        std::perror("execvp");
        ::_exit(127);
    }
}

Process::~Process() {
    if (pid_ > 0) {
        ::kill(pid_, SIGTERM);
        int status = 0;
        ::waitpid(pid_, &status, 0);
    }
}

uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

void wait_for_port(uint16_t port, std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
        ::close(fd);
        if (ok) return;
        // A peer we do not control (storescp) announces nothing: poll its port briefly.
        ::poll(nullptr, 0, 20);
    }
    throw std::runtime_error("nothing listens on port " + std::to_string(port));
}

RawClient::RawClient(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        throw std::runtime_error("connect to port " + std::to_string(port) + " failed");
    }
}

RawClient::~RawClient() {
    if (fd_ >= 0) ::close(fd_);
}

void RawClient::send(const std::vector<std::byte>& bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
        if (n <= 0) return;  // the server may already have closed: the test reads what it said
        done += static_cast<std::size_t>(n);
    }
}

void RawClient::send(const std::string& bytes) {
    std::vector<std::byte> b(bytes.size());
    if (!bytes.empty()) std::memcpy(b.data(), bytes.data(), bytes.size());
    send(b);
}

void RawClient::close_write() {
    ::shutdown(fd_, SHUT_WR);
}

std::vector<std::byte> RawClient::read_until_closed(std::chrono::seconds limit) {
    std::vector<std::byte> out;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
        std::byte buffer[4096];
        const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
        if (n <= 0) break;
        out.insert(out.end(), buffer, buffer + n);
    }
    return out;
}

}  // namespace countylink::testing

namespace countylink::testing {

std::vector<std::byte> storescp_received(const std::string& sender, const fs::path& file) {
    TempDir dir;
    const uint16_t port = free_port();
    const fs::path out = dir.path() / "in";
    fs::create_directories(out);
    {
        Process storescp({"storescp", "+xa", "+B", "-od", out.string(), std::to_string(port)},
                         dir.path() / "storescp.log");
        wait_for_port(port);
        const auto r = run(sender + " -aec ANY-SCP 127.0.0.1 " + std::to_string(port) + " '" +
                           file.string() + "'");
        if (r.exit_code != 0) throw std::runtime_error("reference send failed:\n" + r.output);
    }
    for (const auto& e : fs::directory_iterator(out)) return dataset_bytes(read_file(e.path()));
    throw std::runtime_error("storescp stored nothing for " + file.string());
}

Orthanc::Orthanc(const fs::path& dir)
    : dir_(dir), dicom_port_(free_port()), http_port_(free_port()) {}

void Orthanc::add_modality(const std::string& name, const std::string& ae_title, uint16_t port) {
    modalities_.push_back({name, ae_title, port});
}

void Orthanc::start() {
    fs::create_directories(dir_ / "db");
    boost::json::object modalities;
    for (const Modality& m : modalities_) {
        modalities[m.name] = boost::json::array{m.ae_title, "127.0.0.1", m.port};
    }
    std::ofstream(dir_ / "orthanc.json")
        << boost::json::serialize(boost::json::object{{"Name", "county-pacs"},
                                                      {"StorageDirectory", (dir_ / "db").string()},
                                                      {"IndexDirectory", (dir_ / "db").string()},
                                                      {"DicomAet", "ORTHANC"},
                                                      {"DicomPort", dicom_port_},
                                                      {"HttpPort", http_port_},
                                                      {"RemoteAccessAllowed", false},
                                                      {"AuthenticationEnabled", false},
                                                      {"DicomCheckCalledAet", false},
                                                      {"DicomModalities", modalities},
                                                      {"Plugins", boost::json::array()}});
    process_ = std::make_unique<Process>(
        std::vector<std::string>{"Orthanc", (dir_ / "orthanc.json").string()},
        dir_ / "orthanc.log");
    wait_for_port(http_port_, std::chrono::seconds(60));
    wait_for_port(dicom_port_, std::chrono::seconds(60));
}

void Orthanc::stop() {
    process_.reset();
}

std::size_t Orthanc::instance_count() const {
    const auto r = http_get(http_port_, "/instances");
    return r.status == 200 ? boost::json::parse(r.body).as_array().size() : 0;
}

std::string Orthanc::file_of(const std::string& sop_uid) const {
    const auto found = http_request(http_port_, "POST", "/tools/lookup", "", sop_uid);
    if (found.status != 200) return {};
    const auto list = boost::json::parse(found.body).as_array();
    if (list.empty()) return {};
    const auto id = std::string(list[0].at("ID").as_string());
    return http_get(http_port_, "/instances/" + id + "/file").body;
}

}  // namespace countylink::testing
