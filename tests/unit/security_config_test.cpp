// Config for security: TLS listeners and files, principals and their roles, the audit file.
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

#include "config/config.hpp"

namespace countylink::config {
namespace {

std::string parse_error(const std::string& text) {
    try {
        parse_toml(text, "cfg.toml");
    } catch (const ConfigError& error) {
        return error.what();
    }
    ADD_FAILURE() << "expected a ConfigError for:\n" << text;
    return {};
}

void expect_contains(const std::string& message, std::initializer_list<std::string> parts) {
    for (const std::string& part : parts) {
        EXPECT_NE(message.find(part), std::string::npos)
            << "message: " << message << "\nmissing: " << part;
    }
}

const std::string kTls =
    "[tls]\ncertificate = \"/etc/cl/server.crt\"\nprivate_key = \"/etc/cl/server.key\"\n"
    "ca = \"/etc/cl/townships-ca.crt\"\n";
const std::string kTownship = "[[townships]]\nname = \"Dongshan\"\nae_titles = [\"DS_CT\"]\n";

TEST(SecurityConfig, DefaultsArePlainOnlyWithPublicMetrics) {
    const Config c = embedded_default();
    EXPECT_TRUE(c.dicom.plain);
    EXPECT_FALSE(c.dicom.tls);
    EXPECT_EQ(c.dicom.tls_port, 2762);
    EXPECT_FALSE(c.http.tls);
    EXPECT_TRUE(c.http.public_metrics);
    EXPECT_TRUE(c.api.principals.empty());
    EXPECT_TRUE(c.audit.file.empty());
}

TEST(SecurityConfig, TlsListenersAndPrincipalsParse) {
    const Config c = parse_toml(
        "[dicom]\nplain = false\ntls = true\ntls_port = 2762\n[http]\ntls = true\n"
        "public_metrics = false\n[audit]\nfile = \"/var/log/cl/audit.jsonl\"\n" +
        kTls + kTownship +
        "[api]\ntoken_file = \"/etc/cl/tokens\"\n"
        "[[api.principals]]\nname = \"ds-up\"\nrole = \"uploader\"\ntownship = \"Dongshan\"\n"
        "[[api.principals]]\nname = \"rad\"\nrole = \"reader\"\nqueues = [\"imaging\"]\n"
        "[[api.principals]]\nname = \"ops\"\nrole = \"ops\"\n");
    EXPECT_FALSE(c.dicom.plain);
    EXPECT_TRUE(c.dicom.tls && c.http.tls);
    EXPECT_FALSE(c.http.public_metrics);
    EXPECT_EQ(c.tls.ca, "/etc/cl/townships-ca.crt");
    EXPECT_EQ(c.audit.file, "/var/log/cl/audit.jsonl");
    EXPECT_EQ(c.api.token_file, "/etc/cl/tokens");
    ASSERT_EQ(c.api.principals.size(), 3u);
    EXPECT_EQ(c.api.principals[0].role, Role::uploader);
    EXPECT_EQ(c.api.principals[0].township, "Dongshan");
    EXPECT_EQ(c.api.principals[1].queues, std::vector<std::string>{"imaging"});
    ASSERT_NE(c.principal("ops"), nullptr);
    EXPECT_EQ(c.principal("ops")->role, Role::ops);
    EXPECT_EQ(c.principal("nobody"), nullptr);
    EXPECT_TRUE(c.township_lists("Dongshan", " DS_CT "));
    EXPECT_FALSE(c.township_lists("Xiping", "DS_CT"));
}

TEST(SecurityConfig, TlsNeedsItsFiles) {
    expect_contains(parse_error("[dicom]\ntls = true\n"),
                    {"tls.certificate: missing; dicom.tls needs our certificate"});
    expect_contains(parse_error("[http]\ntls = true\n[tls]\ncertificate = \"a.crt\"\n"),
                    {"tls.private_key: missing; http.tls"});
    // HTTPS alone may go without a CA (tokens only); DICOM TLS verifies equipment against it.
    EXPECT_NO_THROW(
        parse_toml("[http]\ntls = true\n[tls]\ncertificate = \"a\"\n"
                   "private_key = \"b\"\n"));
    expect_contains(parse_error("[dicom]\ntls = true\n[tls]\ncertificate = \"a\"\n"
                                "private_key = \"b\"\n"),
                    {"tls.ca: missing"});
}

TEST(SecurityConfig, ListenersMustNotVanishOrCollide) {
    expect_contains(parse_error("[dicom]\nplain = false\n"),
                    {"cfg.toml:2:", "dicom.plain", "no DICOM listener"});
    expect_contains(parse_error("[dicom]\ntls = true\nport = 2762\n" + kTls),
                    {"dicom.tls_port", "TLS needs a port of its own"});
    expect_contains(parse_error("[dicom]\ntls = true\ntls_port = 8080\n" + kTls),
                    {"dicom.tls_port", "http.port"});
    expect_contains(parse_error("[dicom]\ntls = 1\n"), {"dicom.tls: expected true or false"});
    expect_contains(parse_error("[tls]\ncertfile = \"x\"\n"),
                    {"unknown key 'tls.certfile'", "certificate, private_key, ca"});
}

TEST(SecurityConfig, PrincipalsAreChecked) {
    expect_contains(parse_error("[[api.principals]]\nname = \"a\"\nrole = \"root\"\n"),
                    {"api.principals[0].role", "uploader, reader, ops, admin", "'root'"});
    expect_contains(parse_error("[[api.principals]]\nname = \"a\"\nrole = \"uploader\"\n"),
                    {"api.principals[0].township", "an uploader needs the township"});
    expect_contains(parse_error(kTownship + "[[api.principals]]\nname = \"a\"\nrole = "
                                            "\"uploader\"\ntownship = \"Xiping\"\n"),
                    {"(Dongshan)", "'Xiping'"});
    expect_contains(parse_error("[[api.principals]]\nname = \"a\"\nrole = \"reader\"\n"),
                    {"api.principals[0].queues", "a reader needs the queues"});
    expect_contains(
        parse_error("[[api.principals]]\nname = \"a\"\nrole = \"ops\"\nqueues = [\"x\"]\n"),
        {"api.principals[0].queues", "only readers"});
    expect_contains(parse_error("[[api.principals]]\nname = \"a\"\nrole = \"admin\"\n"
                                "[[api.principals]]\nname = \"a\"\nrole = \"ops\"\n"),
                    {"api.principals[1].name", "duplicate principal name 'a'"});
    expect_contains(parse_error("[[api.principals]]\nname = \"r\"\nrole = \"reader\"\n"
                                "queues = [\"Bad Queue\"]\n"),
                    {"api.principals[0].queues[0]", "queue name"});
}

TEST(SecurityConfig, TokensMustNamePrincipalsOnceAnyAreDeclared) {
    expect_contains(parse_error("[[api.principals]]\nname = \"ops\"\nrole = \"ops\"\n"
                                "[[api.tokens]]\nname = \"other\"\ntoken = \"0123456789abcdef\"\n"),
                    {"api.tokens[0].name", "no principal 'other'"});
    // Without principals (configs from before roles) tokens stay valid, as admins.
    EXPECT_NO_THROW(parse_toml("[[api.tokens]]\nname = \"x\"\ntoken = \"0123456789abcdef\"\n"));
}

}  // namespace
// A reader's or admin's DICOM viewers: found by calling AE title; never a township's equipment
// or another principal's, and not for uploaders or ops (C-FIND reads patient data).
TEST(SecurityConfig, ViewerAeTitlesOfPrincipals) {
    const Config c =
        parse_toml(kTownship +
                   "[[api.principals]]\nname = \"rad\"\nrole = \"reader\"\nqueues = [\"imaging\"]\n"
                   "ae_titles = [\"RAD_WS1\", \"RAD_WS2\"]\n");
    ASSERT_NE(c.principal_of_ae(" RAD_WS2 "), nullptr);
    EXPECT_EQ(c.principal_of_ae("RAD_WS2")->name, "rad");
    EXPECT_EQ(c.principal_of_ae("DS_CT"), nullptr);

    expect_contains(parse_error(kTownship + "[[api.principals]]\nname = \"o\"\nrole = \"ops\"\n"
                                            "ae_titles = [\"OPS_WS\"]\n"),
                    {"api.principals[0].ae_titles", "only readers and admins"});
    expect_contains(parse_error(kTownship + "[[api.principals]]\nname = \"a\"\nrole = \"admin\"\n"
                                            "ae_titles = [\"DS_CT\"]\n"),
                    {"api.principals[0].ae_titles[0]", "'DS_CT'", "township 'Dongshan'"});
    expect_contains(
        parse_error(kTownship + "[[api.principals]]\nname = \"a\"\nrole = \"admin\"\n"
                                "ae_titles = [\"WS\"]\n[[api.principals]]\nname = \"b\"\n"
                                "role = \"admin\"\nae_titles = [\"WS\"]\n"),
        {"api.principals[1].ae_titles[0]", "already listed"});
    expect_contains(parse_error(kTownship + "[[api.principals]]\nname = \"a\"\nrole = \"admin\"\n"
                                            "ae_titles = [\"A\\\\B\"]\n"),
                    {"api.principals[0].ae_titles[0]", "expected an AE title"});
    const Config hosts =
        parse_toml(kTownship +
                   "[[api.principals]]\nname = \"a\"\nrole = \"admin\"\n"
                   "ae_titles = [\"WS\"]\nae_hosts = [\"10.20.0.31\", \"fe80::1\"]\n");
    EXPECT_TRUE(hosts.api.principals[0].viewer_may_call_from("10.20.0.31"));
    EXPECT_TRUE(hosts.api.principals[0].viewer_may_call_from("::ffff:10.20.0.31"));
    EXPECT_FALSE(hosts.api.principals[0].viewer_may_call_from("10.20.0.3"));
    expect_contains(parse_error(kTownship + "[[api.principals]]\nname = \"a\"\nrole = \"admin\"\n"
                                            "ae_titles = [\"WS\"]\nae_hosts = [\"ws1.county\"]\n"),
                    {"api.principals[0].ae_hosts[0]", "expected an IPv4 or IPv6 address"});
    expect_contains(parse_error(kTownship + "[[api.principals]]\nname = \"a\"\nrole = \"admin\"\n"
                                            "ae_hosts = [\"10.0.0.1\"]\n"),
                    {"api.principals[0].ae_hosts", "none listed"});
}

// Where C-MOVE may send: AE titles with addresses, each once.
TEST(SecurityConfig, MoveDestinations) {
    const Config c = parse_toml(
        "[[dicom.move_destinations]]\nae_title = \"RAD_WS1\"\nhost = \"10.1.2.3\"\nport = 11112\n");
    ASSERT_NE(c.move_destination(" RAD_WS1"), nullptr);
    EXPECT_EQ(c.move_destination("RAD_WS1")->host, "10.1.2.3");
    EXPECT_EQ(c.move_destination("RAD_WS1")->port, 11112);
    EXPECT_EQ(c.move_destination("OTHER"), nullptr);
    expect_contains(parse_error("[[dicom.move_destinations]]\nae_title = \"A\"\nhost = \"h\"\n"
                                "[[dicom.move_destinations]]\nae_title = \"A\"\nhost = \"h\"\n"),
                    {"dicom.move_destinations[1].ae_title", "listed twice"});
    expect_contains(parse_error("[[dicom.move_destinations]]\nhost = \"h\"\n"),
                    {"dicom.move_destinations[0].ae_title", "missing"});
}

}  // namespace countylink::config
