// Security against real peers: DCMTK echoscu/storescu over DICOM TLS with certificates made
// here with the openssl CLI, openssl s_client for protocol versions and ciphers, curl over
// HTTPS per role, SIGHUP certificate reload, and the audit trail (countylinkctl audit).
#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/x509.h>
#include <signal.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <map>
#include <sstream>

#include "tests/integration/harness.hpp"

using namespace countylink::testing;
namespace json = boost::json;

namespace {

// A test CA, a rogue CA, and certificates they issue, made with the openssl CLI.
class Pki {
  public:
    explicit Pki(const fs::path& dir) : dir_(dir) {
        fs::create_directories(dir_);
        make_ca("ca", "/CN=Test County CA");
        make_ca("rogue-ca", "/CN=Rogue CA");
        issue("server", "/CN=localhost/O=County", "ca");
        issue("dongshan", "/CN=dongshan-ct/O=Dongshan", "ca");
        issue("xiping", "/CN=xiping-us/O=Xiping", "ca");
        issue("rogue", "/CN=dongshan-ct/O=Dongshan", "rogue-ca");
        issue("reader", "/CN=reader-dongshan/O=County", "ca");
        issue_expired("expired", "/CN=dongshan-ct/O=Dongshan");
    }

    fs::path crt(const std::string& name) const { return dir_ / (name + ".crt"); }
    fs::path key(const std::string& name) const { return dir_ / (name + ".key"); }
    const fs::path& dir() const { return dir_; }

    // A new server certificate (other serial and CN) under the same file names.
    void reissue_server(const std::string& subject, int days) {
        issue("server", subject, "ca", days);
    }

    std::string tls_toml() const {
        return "[tls]\ncertificate = \"" + crt("server").string() + "\"\nprivate_key = \"" +
               key("server").string() + "\"\nca = \"" + crt("ca").string() + "\"\n";
    }

  private:
    void openssl(const std::string& args) const {
        const auto r = run("cd '" + dir_.string() + "' && openssl " + args);
        if (r.exit_code != 0) throw std::runtime_error("openssl " + args + ":\n" + r.output);
    }
    void make_ca(const std::string& name, const std::string& subject) {
        openssl("req -x509 -newkey rsa:2048 -nodes -keyout " + name + ".key -out " + name +
                ".crt -days 30 -subj '" + subject + "'");
    }
    void issue(const std::string& name, const std::string& subject, const std::string& ca,
               int days = 30) {
        openssl("req -newkey rsa:2048 -nodes -keyout " + name + ".key -out " + name +
                ".csr -subj '" + subject + "'");
        std::ofstream(dir_ / "san.ext") << "subjectAltName=DNS:localhost,IP:127.0.0.1\n";
        openssl("x509 -req -in " + name + ".csr -CA " + ca + ".crt -CAkey " + ca +
                ".key -CAcreateserial -out " + name + ".crt -days " + std::to_string(days) +
                " -extfile san.ext");
    }
    // Valid in 2020 only: `openssl ca` takes explicit start and end dates.
    void issue_expired(const std::string& name, const std::string& subject) {
        std::ofstream(dir_ / "ca.cnf") << "[ca]\ndefault_ca = test\n[test]\ndir = .\n"
                                          "database = index.txt\nnew_certs_dir = .\n"
                                          "serial = ca-serial\ndefault_md = sha256\n"
                                          "policy = any\n[any]\ncommonName = supplied\n"
                                          "organizationName = optional\n";
        std::ofstream(dir_ / "index.txt").close();
        std::ofstream(dir_ / "ca-serial") << "1000\n";
        openssl("req -newkey rsa:2048 -nodes -keyout " + name + ".key -out " + name +
                ".csr -subj '" + subject + "'");
        openssl("ca -batch -config ca.cnf -cert ca.crt -keyfile ca.key -in " + name + ".csr -out " +
                name + ".crt -notext -startdate 20200101000000Z -enddate 20200201000000Z");
    }

    fs::path dir_;
};

fs::path corpus(const std::string& name) {
    return shared_dir() / "corpus" / "dicom" / name;
}

// echoscu/storescu TLS options for a client certificate `name` ("" for none: anonymous TLS).
std::string dcmtk_tls(const Pki& pki, const std::string& name) {
    const std::string ca = " +cf '" + pki.crt("ca").string() + "' ";
    if (name.empty()) return " +tla" + ca;
    return " +tls '" + pki.key(name).string() + "' '" + pki.crt(name).string() + "'" + ca;
}

CommandResult echo_tls(const Pki& pki, const Gateway& gw, const std::string& cert,
                       const std::string& ae) {
    return run("echoscu" + dcmtk_tls(pki, cert) + "-aet " + ae + " -aec COUNTYLINK 127.0.0.1 " +
               std::to_string(gw.dicom_tls_port()));
}

CommandResult store_tls(const Pki& pki, const Gateway& gw, const std::string& cert,
                        const std::string& ae, const fs::path& file) {
    return run("storescu" + dcmtk_tls(pki, cert) + "-aet " + ae + " -aec COUNTYLINK 127.0.0.1 " +
               std::to_string(gw.dicom_tls_port()) + " '" + file.string() + "'");
}

struct Https {
    int status = 0;
    std::string body;
};

// curl over HTTPS, verifying the server against the test CA; a bearer token and/or a client
// certificate when given.
Https curl(const Pki& pki, uint16_t port, const std::string& target, const std::string& token,
           const std::string& cert = {}, const std::string& extra = {}) {
    const fs::path out = pki.dir() / "curl.out";
    std::string cmd = "curl -s -o '" + out.string() + "' -w '%{http_code}' --cacert '" +
                      pki.crt("ca").string() + "' ";
    if (!token.empty()) cmd += "-H 'Authorization: Bearer " + token + "' ";
    if (!cert.empty()) {
        cmd += "--cert '" + pki.crt(cert).string() + "' --key '" + pki.key(cert).string() + "' ";
    }
    cmd += extra + " 'https://127.0.0.1:" + std::to_string(port) + target + "'";
    const auto r = run(cmd);
    Https h;
    h.status = r.output.empty() ? -1 : std::stoi(r.output);
    std::ifstream in(out);
    std::stringstream s;
    s << in.rdbuf();
    h.body = s.str();
    return h;
}

std::vector<json::object> audit_entries(const fs::path& file) {
    std::ifstream in(file);
    std::vector<json::object> out;
    std::string line;
    while (std::getline(in, line)) out.push_back(json::parse(line).as_object());
    return out;
}

std::string text(const json::object& o, const char* key) {
    const auto* v = o.if_contains(key);
    return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::map<std::string, int> count_by_type(const std::vector<json::object>& entries) {
    std::map<std::string, int> out;
    for (const auto& e : entries) ++out[text(e, "EventTypeCode")];
    return out;
}

// Waits (bounded) until the server's log contains `what` (a SIGHUP is handled asynchronously).
void wait_for_log(const Gateway& gw, const std::string& what) {
    ASSERT_TRUE(eventually([&] { return gw.log().find(what) != std::string::npos; },
                           std::chrono::seconds(20), std::chrono::milliseconds(20)))
        << "no '" << what << "' in the log:\n"
        << gw.log();
}

const std::string kTownships =
    "[[townships]]\nname = \"Dongshan\"\nae_titles = [\"DONGSHAN_CT\"]\n"
    "[[townships]]\nname = \"Xiping\"\nae_titles = [\"XIPING_US\"]\n";

class Security : public ::testing::Test {
  protected:
    static void SetUpTestSuite() { pki_ = std::make_unique<Pki>(pki_dir_.path() / "pki"); }
    static void TearDownTestSuite() { pki_.reset(); }
    static inline TempDir pki_dir_;
    static inline std::unique_ptr<Pki> pki_;
    TempDir tmp_;
};

std::string dicom_tls_config(const Pki& pki, bool plain) {
    return std::string("[dicom]\ntls = true\ntls_port = 0\naccept_unregistered = false\n") +
           (plain ? "" : "plain = false\n") + pki.tls_toml() + kTownships;
}

}  // namespace

TEST_F(Security, TownshipCertificateAndItsAeStoreOverTlsWithPlainPortOff) {
    Gateway gw(tmp_.path() / "data", dicom_tls_config(*pki_, false));
    EXPECT_EQ(gw.dicom_port(), 0) << gw.log();  // plain DICOM switched off
    ASSERT_NE(gw.dicom_tls_port(), 0);
    const auto stored = store_tls(*pki_, gw, "dongshan", "DONGSHAN_CT", corpus("CT_small.dcm"));
    ASSERT_EQ(stored.exit_code, 0) << stored.output << gw.log();
    const std::string uid = dicom_value(corpus("CT_small.dcm"), "0008,0018");
    const auto res = gw.get("/api/v1/instances/" + uid);
    ASSERT_EQ(res.status, 200);
    // The dataset as storescu sent it (the DICOM TLS path stores like the plain one).
    const auto stored_bytes = dataset_bytes(std::vector<std::byte>(
        reinterpret_cast<const std::byte*>(res.body.data()),
        reinterpret_cast<const std::byte*>(res.body.data()) + res.body.size()));
    EXPECT_TRUE(stored_bytes == storescp_received("storescu", corpus("CT_small.dcm")));
    EXPECT_NE(gw.log().find("AE 'DONGSHAN_CT' (Dongshan) released after 1 objects"),
              std::string::npos)
        << gw.log();
}

TEST_F(Security, RefusedPeersAreAuditedAndTheServerKeepsServing) {
    const fs::path data = tmp_.path() / "data";
    {
        Gateway gw(data, dicom_tls_config(*pki_, true));
        const auto none = echo_tls(*pki_, gw, "", "DONGSHAN_CT");
        EXPECT_NE(none.exit_code, 0) << none.output;
        const auto rogue = echo_tls(*pki_, gw, "rogue", "DONGSHAN_CT");
        EXPECT_NE(rogue.exit_code, 0) << rogue.output;
        const auto expired = echo_tls(*pki_, gw, "expired", "DONGSHAN_CT");
        EXPECT_NE(expired.exit_code, 0) << expired.output;
        // Township A's certificate with township B's AE title: A-ASSOCIATE-RJ, reason 3.
        const auto foreign = echo_tls(*pki_, gw, "dongshan", "XIPING_US");
        EXPECT_NE(foreign.output.find("Calling AE Title Not Recognized"), std::string::npos)
            << foreign.output;
        EXPECT_NE(foreign.output.find("Rejected Permanent, Source: Service User"),
                  std::string::npos)
            << foreign.output;
        // Still serving: the right pairs work over TLS, and plain DICOM alongside.
        EXPECT_EQ(echo_tls(*pki_, gw, "dongshan", "DONGSHAN_CT").exit_code, 0) << gw.log();
        EXPECT_EQ(echo_tls(*pki_, gw, "xiping", "XIPING_US").exit_code, 0) << gw.log();
        EXPECT_EQ(run("echoscu -aet XIPING_US -aec COUNTYLINK 127.0.0.1 " +
                      std::to_string(gw.dicom_port()))
                      .exit_code,
                  0);
    }  // stopped: the audit trail is complete on disk
    const auto entries = audit_entries(data / "audit.jsonl");
    std::vector<std::string> refusals;
    for (const auto& e : entries) {
        if (text(e, "EventTypeCode") == "refusal") refusals.push_back(json::serialize(e));
    }
    ASSERT_EQ(refusals.size(), 4u) << json::serialize(json::value_from(refusals));
    // Each refusal once, with its reason (in any order: the server records as it sees them).
    const auto one_with = [&](const std::string& what) {
        return std::count_if(refusals.begin(), refusals.end(), [&](const std::string& r) {
            return r.find(what) != std::string::npos;
        });
    };
    EXPECT_EQ(one_with("peer did not return a certificate"), 1);
    EXPECT_EQ(one_with("unable to get local issuer certificate"), 1);
    EXPECT_EQ(one_with("certificate has expired"), 1);
    EXPECT_EQ(one_with("calling AE title 'XIPING_US' is not one of township 'Dongshan'"), 1);
    // Verified certificates are identities; refused ones are named in the description only.
    EXPECT_EQ(one_with("\"AlternativeUserID\":\"O=Dongshan,CN=dongshan-ct\""), 1);
    EXPECT_EQ(one_with("presented O=Dongshan,CN=dongshan-ct"), 2);  // rogue CA, expired
    EXPECT_EQ(one_with("\"EventID\":\"Security Alert\""), 4);
}

TEST_F(Security, OldProtocolsAndWeakCiphersAreRefused) {
    const fs::path data = tmp_.path() / "data";
    const std::string config = dicom_tls_config(*pki_, true) + "[http]\ntls = true\n";
    {
        Gateway gw(data, config);
        const std::string client = " -cert '" + pki_->crt("dongshan").string() + "' -key '" +
                                   pki_->key("dongshan").string() + "' -CAfile '" +
                                   pki_->crt("ca").string() + "'";
        for (const uint16_t port : {gw.dicom_tls_port(), gw.http_port()}) {
            const std::string connect =
                "echo | openssl s_client -connect 127.0.0.1:" + std::to_string(port) + client;
            // SECLEVEL=0 lets the client offer what its defaults would not.
            for (const char* old : {" -tls1", " -tls1_1"}) {
                const auto r = run(connect + old + " -cipher 'DEFAULT@SECLEVEL=0' 2>&1");
                EXPECT_NE(r.exit_code, 0) << old << r.output;
                EXPECT_NE(r.output.find("Cipher is (NONE)"), std::string::npos) << r.output;
            }
            // Without forward secrecy, or CBC: not in the BCP 195 profile.
            for (const char* weak : {"AES128-SHA", "ECDHE-RSA-AES128-SHA", "AES256-SHA256"}) {
                const auto r = run(connect + " -tls1_2 -cipher '" + weak + "' 2>&1");
                EXPECT_NE(r.exit_code, 0) << weak << r.output;
            }
            // (s_client's exit code is left out: the server may close before it does.)
            const auto tls12 = run(connect + " -tls1_2 2>&1");
            EXPECT_NE(tls12.output.find("Verify return code: 0 (ok)"), std::string::npos);
            // Our preference: the first BCP 195 suite that fits an RSA certificate.
            EXPECT_NE(tls12.output.find("Cipher is ECDHE-RSA-AES128-GCM-SHA256"), std::string::npos)
                << tls12.output;
            const auto tls13 = run(connect + " -tls1_3 2>&1");
            EXPECT_NE(tls13.output.find("New, TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384"),
                      std::string::npos)
                << tls13.output;
        }
    }
    // The server's side of it: every refusal is in the audit trail with its reason.
    int version = 0, cipher = 0;
    for (const auto& e : audit_entries(data / "audit.jsonl")) {
        const std::string why = text(e, "EventOutcomeDescription");
        if (why.find("unsupported protocol") != std::string::npos) ++version;
        if (why.find("no shared cipher") != std::string::npos) ++cipher;
    }
    EXPECT_EQ(version, 4);
    EXPECT_EQ(cipher, 6);
}

namespace {

struct Principal {
    std::string name, token;
};

// Tokens for each role, in a token file holding only their SHA-256 (made with sha256sum).
std::string roles_config(const Pki& pki, const fs::path& token_file,
                         const std::vector<Principal>& principals) {
    std::ofstream(token_file) << "# sha256 of the token, principal\n";
    for (const auto& p : principals) {
        const auto r =
            run("{ printf %s '" + p.token + "' | sha256sum | cut -d' ' -f1 | tr -d '\\n'; echo ' " +
                p.name + "'; } >> '" + token_file.string() + "'");
        if (r.exit_code != 0) throw std::runtime_error(r.output);
    }
    return dicom_tls_config(pki, false) +
           "[http]\ntls = true\npublic_metrics = false\n"
           "[routing]\nstable_after_s = 0\n"
           "[[routing.rules]]\ntownships = [\"Dongshan\"]\nqueues = [\"dongshan\"]\n"
           "[[routing.rules]]\ntownships = [\"Xiping\"]\nqueues = [\"xiping\"]\n"
           "[api]\ntoken_file = \"" +
           token_file.string() +
           "\"\n"
           "[[api.principals]]\nname = \"uploader-dongshan\"\nrole = \"uploader\"\n"
           "township = \"Dongshan\"\n"
           "[[api.principals]]\nname = \"reader-dongshan\"\nrole = \"reader\"\n"
           "queues = [\"dongshan\"]\n"
           "[[api.principals]]\nname = \"ops-team\"\nrole = \"ops\"\n"
           "[[api.principals]]\nname = \"county-admin\"\nrole = \"admin\"\n";
}

const std::string kUploader = "uploader-token-0123456789";
const std::string kReader = "reader-token-0123456789ab";
const std::string kOps = "ops-token-0123456789abcdef";
const std::string kAdmin = "admin-token-0123456789abcd";

// The first item id of a queue, waiting (bounded) for the tick that makes it pending.
int64_t first_item(const Pki& pki, uint16_t port, const std::string& queue) {
    json::array items;
    std::string body;
    eventually(
        [&] {
            body = curl(pki, port, "/api/v1/queues/" + queue + "/items", kAdmin).body;
            items = json::parse(body).at("items").as_array();
            return !items.empty();
        },
        std::chrono::seconds(20), std::chrono::milliseconds(50));
    if (items.empty()) throw std::runtime_error(body);
    return items[0].at("id").as_int64();
}

}  // namespace

TEST_F(Security, EveryEndpointChecksTheRoleAndReadersSeeOnlyTheirQueues) {
    const fs::path data = tmp_.path() / "data";
    const fs::path ct = corpus("CT_small.dcm"), mr = corpus("MR_small.dcm");
    const std::string ct_uid = dicom_value(ct, "0008,0018"), mr_uid = dicom_value(mr, "0008,0018");
    const std::string ct_study = dicom_value(ct, "0020,000d");
    const std::string mr_study = dicom_value(mr, "0020,000d");
    std::map<std::string, int> expected;  // audit entries by type, counted as we go
    {
        Gateway gw(data, roles_config(*pki_, tmp_.path() / "tokens",
                                      {{"uploader-dongshan", kUploader},
                                       {"reader-dongshan", kReader},
                                       {"ops-team", kOps},
                                       {"county-admin", kAdmin}}));
        // Dongshan's CT goes to queue dongshan, Xiping's MR to queue xiping.
        ASSERT_EQ(store_tls(*pki_, gw, "dongshan", "DONGSHAN_CT", ct).exit_code, 0) << gw.log();
        ASSERT_EQ(store_tls(*pki_, gw, "xiping", "XIPING_US", mr).exit_code, 0) << gw.log();
        expected["store"] += 2;
        const uint16_t port = gw.http_port();
        const int64_t dongshan_item = first_item(*pki_, port, "dongshan");
        const int64_t xiping_item = first_item(*pki_, port, "xiping");

        struct Case {
            std::string method, target, token, cert;
            int status;
            std::string event;  // audit type expected, "" for none
        };
        const std::string inst = "/api/v1/instances/";
        const std::string dongshan_items = "/api/v1/items/" + std::to_string(dongshan_item);
        const std::string xiping_items = "/api/v1/items/" + std::to_string(xiping_item);
        const std::vector<Case> cases = {
            // No or unknown credentials: 401.
            {"GET", "/api/v1/queues", "", "", 401, "login_failure"},
            {"GET", inst + ct_uid, "not-a-known-token-000", "", 401, "login_failure"},
            {"GET", "/metrics", "", "", 401, "login_failure"},
            // Health stays open.
            {"GET", "/healthz", "", "", 200, ""},
            // Reader of queue dongshan.
            {"GET", "/api/v1/queues/dongshan/items", kReader, "", 200, "query"},
            {"GET", "/api/v1/queues/xiping/items", kReader, "", 404, "query"},
            {"GET", dongshan_items, kReader, "", 200, "retrieve"},
            {"GET", xiping_items, kReader, "", 404, "retrieve"},
            {"POST", xiping_items + "/claim", kReader, "", 404, "claim"},
            {"POST", dongshan_items + "/claim", kReader, "", 200, "claim"},
            {"POST", dongshan_items + "/complete", kReader, "", 200, "complete"},
            {"GET", inst + ct_uid, kReader, "", 200, "retrieve"},
            {"GET", inst + mr_uid, kReader, "", 404, "retrieve"},
            {"GET", "/dicomweb/studies/" + ct_study + "/metadata", kReader, "", 200, "retrieve"},
            {"GET", "/dicomweb/studies/" + mr_study, kReader, "", 404, "retrieve"},
            {"GET", "/dicomweb/studies/" + mr_study + "/metadata", kReader, "", 404, "retrieve"},
            {"GET", "/api/v1/quarantine", kReader, "", 403, "refusal"},
            {"GET", "/metrics", kReader, "", 403, "refusal"},
            {"POST", "/dicomweb/studies", kReader, "", 403, "refusal"},
            // The reader's client certificate (CN = principal name) instead of a token.
            {"GET", inst + ct_uid, "", "reader", 200, "retrieve"},
            {"GET", inst + mr_uid, "", "reader", 404, "retrieve"},
            // Uploader: push only.
            {"GET", "/api/v1/queues", kUploader, "", 403, "refusal"},
            {"GET", inst + ct_uid, kUploader, "", 403, "refusal"},
            {"GET", "/dicomweb/studies", kUploader, "", 403, "refusal"},
            // Ops: metrics and queue depths, no patient data.
            {"GET", "/metrics", kOps, "", 200, ""},
            {"GET", "/api/v1/queues", kOps, "", 200, "query"},
            {"GET", inst + ct_uid, kOps, "", 403, "refusal"},
            {"GET", "/api/v1/quarantine", kOps, "", 403, "refusal"},
            // Admin: everything.
            {"GET", "/api/v1/quarantine", kAdmin, "", 200, "query"},
            {"GET", inst + mr_uid, kAdmin, "", 200, "retrieve"},
        };
        for (const auto& c : cases) {
            const std::string extra = c.method == "POST" ? "-X POST" : "";
            const auto r = curl(*pki_, port, c.target, c.token, c.cert, extra);
            EXPECT_EQ(r.status, c.status) << c.method << " " << c.target << " as "
                                          << (c.token.empty() ? c.cert : c.token) << ": " << r.body;
            if (r.status >= 400) {
                const auto body = json::parse(r.body);
                EXPECT_FALSE(body.at("error").as_string().empty()) << r.body;
            }
            if (!c.event.empty()) ++expected[c.event];
        }
        // The reader's queue list holds its queue only; QIDO finds only its study.
        const auto queues = curl(*pki_, port, "/api/v1/queues", kReader);
        EXPECT_NE(queues.body.find("\"dongshan\""), std::string::npos) << queues.body;
        EXPECT_EQ(queues.body.find("xiping"), std::string::npos) << queues.body;
        const auto studies = curl(*pki_, port, "/dicomweb/studies", kReader);
        EXPECT_NE(studies.body.find(ct_study), std::string::npos) << studies.body;
        EXPECT_EQ(studies.body.find(mr_study), std::string::npos) << studies.body;
        expected["query"] += 2;
        // The uploader's STOW-RS is stored as its township's.
        const fs::path body = tmp_.path() / "stow.body";
        {
            std::ofstream out(body, std::ios::binary);
            std::ifstream in(corpus("JPGExtended.dcm"), std::ios::binary);
            out << "--b0undary\r\nContent-Type: application/dicom\r\n\r\n"
                << in.rdbuf() << "\r\n--b0undary--\r\n";
        }
        const auto stow = curl(*pki_, port, "/dicomweb/studies", kUploader, "",
                               "-H 'Content-Type: multipart/related; type=\"application/dicom\"; "
                               "boundary=b0undary' --data-binary @'" +
                                   body.string() + "'");
        EXPECT_EQ(stow.status, 200) << stow.body;
        ++expected["store"];
        // Routed by the uploader's township: on queue dongshan, so its reader may read it.
        const auto pushed =
            curl(*pki_, port, inst + dicom_value(corpus("JPGExtended.dcm"), "0008,0018"), kReader);
        EXPECT_EQ(pushed.status, 200) << pushed.body;
        ++expected["retrieve"];

        // Ordinary logs carry no patient names, IDs or birth dates of what passed through.
        const std::string log = gw.log();
        for (const auto& f : {ct, mr, corpus("JPGExtended.dcm")}) {
            for (const char* tag : {"0010,0010", "0010,0020", "0010,0030"}) {
                const std::string value = dicom_value(f, tag);
                if (value.empty()) continue;
                EXPECT_EQ(log.find(value), std::string::npos) << tag << " " << value << "\n" << log;
            }
        }
    }
    // One audit entry per access, of the right type.
    const auto entries = audit_entries(data / "audit.jsonl");
    auto counted = count_by_type(entries);
    // first_item polled until the items were pending: those polls are queries too.
    const int polls = counted["query"] - expected["query"];
    EXPECT_GE(polls, 0);
    counted["query"] -= polls;
    EXPECT_EQ(counted, expected);
    for (const auto& e : entries) {
        const auto& who = e.at("ActiveParticipant").as_array()[0].as_object();
        EXPECT_FALSE(text(who, "NetworkAccessPointID").empty()) << json::serialize(e);
        EXPECT_TRUE(e.contains("EventOutcomeIndicator"));
    }

    // countylinkctl audit filters the trail.
    const std::string ctl = (bin_dir() / "countylinkctl").string() + " audit --data-dir '" +
                            data.string() + "' 2>/dev/null";
    const auto lines = [](const std::string& out) {
        return static_cast<int>(std::count(out.begin(), out.end(), '\n'));
    };
    EXPECT_EQ(lines(run(ctl + " --event store").output), expected["store"]);
    EXPECT_EQ(lines(run(ctl + " --event login_failure").output), 3);
    const auto study = run(ctl + " --study " + mr_study + " --user reader-dongshan").output;
    // Its 404s: WADO study and metadata, the instance by token and by certificate.
    EXPECT_EQ(lines(study), 4) << study;
    EXPECT_EQ(lines(run(ctl + " --user O=Xiping").output), 1);  // its one store, by certificate
    EXPECT_EQ(lines(run(ctl + " --since 1h").output), static_cast<int>(entries.size()));
    EXPECT_EQ(lines(run(ctl + " --since 2999-01-01").output), 0);
    EXPECT_NE(run(ctl + " --since yesterday").exit_code, 0);
}

namespace {

// One HTTPS connection kept open across requests (Beast over Asio SSL), verifying the server
// against the test CA.
class KeepAliveClient {
  public:
    KeepAliveClient(const Pki& pki, uint16_t port)
        : ssl_(boost::asio::ssl::context::tls_client), stream_(io_, ssl_) {
        ssl_.load_verify_file(pki.crt("ca").string());
        ssl_.set_verify_mode(boost::asio::ssl::verify_peer);
        stream_.next_layer().connect({boost::asio::ip::make_address("127.0.0.1"), port});
        stream_.handshake(boost::asio::ssl::stream_base::client);
    }
    int get(const std::string& target, const std::string& token) {
        namespace http = boost::beast::http;
        http::request<http::empty_body> req{http::verb::get, target, 11};
        req.set(http::field::host, "127.0.0.1");
        req.set(http::field::authorization, "Bearer " + token);
        req.keep_alive(true);
        http::write(stream_, req);
        http::response<http::string_body> res;
        http::read(stream_, buffer_, res);
        return static_cast<int>(res.result_int());
    }
    // The serial of the certificate the server presented on this connection.
    std::string serial() {
        X509* cert = SSL_get1_peer_certificate(stream_.native_handle());
        BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(cert), nullptr);
        char* hex = BN_bn2hex(bn);
        std::string out(hex);
        OPENSSL_free(hex);
        BN_free(bn);
        X509_free(cert);
        return out;
    }

  private:
    boost::asio::io_context io_;
    boost::asio::ssl::context ssl_;
    boost::asio::ssl::stream<boost::asio::ip::tcp::socket> stream_;
    boost::beast::flat_buffer buffer_;
};

std::string serial_of(const fs::path& crt) {
    const auto r = run("openssl x509 -noout -serial -in '" + crt.string() + "'");
    return r.output.substr(r.output.find('=') + 1,
                           r.output.find_last_not_of("\n") - r.output.find('='));
}

// The value of an unlabelled-or-labelled sample line of /metrics, as text.
std::string metric_value(const std::string& metrics, const std::string& series) {
    const auto at = metrics.find("\n" + series + " ");
    if (at == std::string::npos) return {};
    const auto start = at + series.size() + 2;
    return metrics.substr(start, metrics.find('\n', start) - start);
}

}  // namespace

// A leaked token is revoked, and a new one given, by editing the token file and sending SIGHUP:
// no restart. A file that does not load leaves the tokens in force, and says why.
TEST_F(Security, SighupReloadsTheTokenFile) {
    const fs::path data = tmp_.path() / "data";
    const fs::path tokens = tmp_.path() / "tokens";
    const std::string stranger = "stranger-token-0123456789";
    auto server = std::make_unique<Gateway>(
        data, roles_config(*pki_, tokens, {{"reader-dongshan", kReader}, {"ops-team", kOps}}));
    Gateway& gw = *server;
    const auto status = [&](const std::string& token) {
        return curl(*pki_, gw.http_port(), "/api/v1/queues", token).status;
    };
    ASSERT_EQ(status(kReader), 200) << gw.log();
    ASSERT_EQ(status(kAdmin), 401);

    roles_config(*pki_, tokens, {{"ops-team", kOps}, {"county-admin", kAdmin}});  // rewrites it
    ::kill(gw.pid(), SIGHUP);
    wait_for_log(gw, "SIGHUP: API tokens reloaded");
    EXPECT_EQ(status(kReader), 401);
    EXPECT_EQ(status(kAdmin), 200);
    EXPECT_EQ(status(kOps), 200);

    // A token for a principal the config does not declare: the whole file is refused.
    roles_config(*pki_, tokens, {{"county-admin", kAdmin}, {"nobody", stranger}});
    ::kill(gw.pid(), SIGHUP);
    wait_for_log(gw, "SIGHUP: API tokens not reloaded");
    EXPECT_EQ(status(kAdmin), 200);
    EXPECT_EQ(status(kOps), 200);
    EXPECT_EQ(status(stranger), 401);
    server.reset();  // stopped: every audit entry is on disk

    const auto reloads = run((bin_dir() / "countylinkctl").string() + " audit --data-dir '" +
                             data.string() + "' --event config_reload 2>/dev/null");
    EXPECT_NE(reloads.output.find("\"EventOutcomeDescription\":\"API tokens reloaded (2)\""),
              std::string::npos)
        << reloads.output;
    EXPECT_NE(reloads.output.find("API tokens not reloaded: token file"), std::string::npos)
        << reloads.output;
}

TEST_F(Security, SighupReloadsCertificatesForNewConnectionsKeepingOpenOnes) {
    // Its own PKI: the server certificate is replaced in place.
    Pki pki(tmp_.path() / "pki");
    const fs::path data = tmp_.path() / "data";
    auto server =
        std::make_unique<Gateway>(data, dicom_tls_config(pki, true) + "[http]\ntls = true\n");
    Gateway& gw = *server;
    const std::string token = gw.token();
    const std::string expiry =
        "countylink_tls_certificate_expiry_timestamp_seconds{certificate=\"server\"}";
    const auto not_after = [](const fs::path& crt) {
        const auto r = run("date -d \"$(openssl x509 -noout -enddate -in '" + crt.string() +
                           "' | cut -d= -f2)\" +%s");
        return r.output.substr(0, r.output.find('\n'));
    };

    KeepAliveClient before(pki, gw.http_port());
    ASSERT_EQ(before.get("/api/v1/queues", token), 200);
    const std::string old_serial = serial_of(pki.crt("server"));
    EXPECT_EQ(before.serial(), old_serial);
    EXPECT_EQ(metric_value(curl(pki, gw.http_port(), "/metrics", "").body, expiry),
              not_after(pki.crt("server")));

    pki.reissue_server("/CN=localhost/O=County renewed", 90);
    ASSERT_NE(serial_of(pki.crt("server")), old_serial);
    ::kill(gw.pid(), SIGHUP);
    wait_for_log(gw, "SIGHUP: certificates reloaded");

    // The open connection carries on; a new one gets the new certificate.
    EXPECT_EQ(before.get("/api/v1/queues", token), 200);
    KeepAliveClient after(pki, gw.http_port());
    EXPECT_EQ(after.serial(), serial_of(pki.crt("server")));
    EXPECT_EQ(after.get("/api/v1/queues", token), 200);
    EXPECT_EQ(echo_tls(pki, gw, "dongshan", "DONGSHAN_CT").exit_code, 0);
    EXPECT_EQ(metric_value(curl(pki, gw.http_port(), "/metrics", "").body, expiry),
              not_after(pki.crt("server")));

    // A broken key: the reload is refused and the current certificate stays in use.
    std::ofstream(pki.key("server")) << "not a key\n";
    ::kill(gw.pid(), SIGHUP);
    wait_for_log(gw, "SIGHUP: certificates not reloaded");
    EXPECT_EQ(echo_tls(pki, gw, "dongshan", "DONGSHAN_CT").exit_code, 0);
    KeepAliveClient still(pki, gw.http_port());
    EXPECT_EQ(still.get("/api/v1/queues", token), 200);
    server.reset();  // stopped: every audit entry is on disk

    const auto reloads = run((bin_dir() / "countylinkctl").string() + " audit --data-dir '" +
                             data.string() + "' --event config_reload 2>/dev/null");
    EXPECT_EQ(std::count(reloads.output.begin(), reloads.output.end(), '\n'), 2) << reloads.output;
    EXPECT_NE(reloads.output.find("\"EventOutcomeDescription\":\"certificates reloaded\""),
              std::string::npos);
    EXPECT_NE(reloads.output.find("certificates not reloaded: tls.private_key"), std::string::npos)
        << reloads.output;
}
