// Config loading: defaults, the example files, and errors that name the key and the line.
#include "config/config.hpp"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#ifndef COUNTYLINK_SOURCE_DIR
#error "COUNTYLINK_SOURCE_DIR must name the source tree (the example configs are read from it)"
#endif

namespace countylink::config {
namespace {

const std::filesystem::path examples =
    std::filesystem::path(COUNTYLINK_SOURCE_DIR) / "config" / "examples";

// The message of the ConfigError `action` throws; a failed expectation if it throws nothing.
std::string error_of(const std::function<void()>& action) {
    try {
        action();
    } catch (const ConfigError& error) {
        return error.what();
    }
    ADD_FAILURE() << "expected a ConfigError";
    return {};
}

std::string parse_error(const std::string& text) {
    return error_of([&] { parse_toml(text, "cfg.toml"); });
}

void expect_contains(const std::string& message, std::initializer_list<std::string> parts) {
    for (const std::string& part : parts) {
        EXPECT_NE(message.find(part), std::string::npos)
            << "message: " << message << "\nmissing: " << part;
    }
}

TEST(ConfigDefaults, EmbeddedDefaultHasDocumentedValues) {
    const Config config = embedded_default();
    EXPECT_EQ(config.dicom.port, 11112);
    EXPECT_EQ(config.dicom.ae_title, "COUNTYLINK");
    EXPECT_EQ(config.dicom.max_pdu_bytes, 262144u);
    EXPECT_TRUE(config.dicom.accept_unregistered);
    EXPECT_EQ(config.http.port, 8080);
    EXPECT_EQ(config.storage.data_dir, std::filesystem::path("./var"));
    EXPECT_EQ(config.storage.zstd_level, 3);
    EXPECT_EQ(config.server.workers, 4u);
    EXPECT_EQ(config.server.log_level, "info");
    EXPECT_TRUE(config.townships.empty());
    EXPECT_NO_THROW(validate(config));
}

TEST(ConfigDefaults, EmptyTextGivesDefault) {
    EXPECT_EQ(parse_toml(""), embedded_default());
}

TEST(ConfigExamples, DefaultExampleEqualsEmbeddedDefault) {
    EXPECT_EQ(load_file(examples / "default.toml"), embedded_default());
}

TEST(ConfigExamples, ProductionExampleLoads) {
    const Config config = load_file(examples / "production.toml");
    EXPECT_FALSE(config.dicom.accept_unregistered);
    EXPECT_EQ(config.storage.data_dir, std::filesystem::path("/var/lib/countylink"));
    ASSERT_EQ(config.townships.size(), 2u);
    EXPECT_EQ(config.township_of("DONGSHAN_DR"), "Dongshan");
    EXPECT_EQ(config.township_of("XIPING_ECG"), "Xiping");
    EXPECT_EQ(config.township_of("STRANGER"), std::nullopt);
}

TEST(ConfigErrors, UnknownKeyNamesPathLineAndAllowedKeys) {
    expect_contains(parse_error("[dicom]\nport = 104\nprot = 11112\n"),
                    {"cfg.toml:3:", "unknown key 'dicom.prot'",
                     "(allowed: port, ae_title, bind, max_pdu_bytes"});
    expect_contains(parse_error("[dicm]\nport = 104\n"),
                    {"cfg.toml:1:", "unknown key 'dicm'", "allowed: dicom, http, storage"});
    expect_contains(
        parse_error("[[townships]]\nname = \"A\"\nae_title = [\"A1\"]\n"),
        {"cfg.toml:3:", "unknown key 'townships[0].ae_title'", "allowed: name, ae_titles"});
}

TEST(ConfigErrors, WrongTypeNamesExpectedAndActual) {
    expect_contains(parse_error("[dicom]\nport = \"11112\"\n"),
                    {"cfg.toml:2:", "dicom.port: expected an integer 0-65535, got string"});
    expect_contains(parse_error("[dicom]\naccept_unregistered = \"no\"\n"),
                    {"dicom.accept_unregistered: expected true or false, got string"});
    expect_contains(parse_error("dicom = 5\n"), {"dicom: expected a table, got integer"});
    expect_contains(parse_error("[validation]\nfatal = [\"unparseable\", 3]\n"),
                    {"validation.fatal[1]: expected a finding code string, got integer"});
    expect_contains(parse_error("[townships]\nname = \"A\"\n"),
                    {"townships: expected an array of tables"});
}

TEST(ConfigErrors, OutOfRangeNamesLimitsAndValue) {
    expect_contains(parse_error("[dicom]\nport = 70000\n"),
                    {"dicom.port: expected an integer 0-65535, got 70000"});
    expect_contains(parse_error("[dicom]\nmax_pdu_bytes = 1024\n"),
                    {"dicom.max_pdu_bytes: expected an integer 4096-16777216, got 1024"});
    expect_contains(parse_error("[dicom]\nidle_timeout_s = 0\n"), {"dicom.idle_timeout_s"});
    expect_contains(parse_error("[dicom]\nartim_timeout_s = -1\n"), {"dicom.artim_timeout_s"});
    expect_contains(parse_error("[storage]\nzstd_level = 20\n"),
                    {"storage.zstd_level: expected an integer 1-19, got 20"});
    expect_contains(parse_error("[server]\nworkers = 0\n"), {"server.workers"});
    expect_contains(parse_error("[server]\nlog_level = \"verbose\"\n"),
                    {"cfg.toml:2:", "server.log_level: expected one of debug, info, warn, error"});
}

TEST(ConfigErrors, BadAeTitles) {
    expect_contains(parse_error("[dicom]\nae_title = \"SEVENTEEN_CHARS_X\"\n"),
                    {"cfg.toml:2:", "dicom.ae_title: expected an AE title"});
    expect_contains(parse_error("[dicom]\nae_title = \"    \"\n"), {"dicom.ae_title"});
    expect_contains(
        parse_error("[[townships]]\nname = \"A\"\nae_titles = [\"OK\", \"BAD\\\\AE\"]\n"),
        {"cfg.toml:3:", "townships[0].ae_titles[1]: expected an AE title"});
    expect_contains(parse_error("[[townships]]\nname = \"A\"\nae_titles = []\n"),
                    {"townships[0].ae_titles: expected at least one AE title"});
    expect_contains(parse_error("[[townships]]\nname = \"A\"\n"),
                    {"cfg.toml:1:", "townships[0].ae_titles: missing"});
}

TEST(ConfigErrors, SyntaxErrorHasLineAndColumn) {
    expect_contains(parse_error("[dicom]\nport = 11112\nae_title = = \"X\"\n"),
                    {"cfg.toml:3:", "TOML syntax error"});
}

TEST(ConfigErrors, MissingFileIsConfigError) {
    expect_contains(error_of([] { load_file(examples / "no-such-file.toml"); }),
                    {"no-such-file.toml"});
}

TEST(ConfigValidation, FatalCodesMustBeKnownAndAlwaysFatalAreAdded) {
    expect_contains(
        parse_error("[validation]\nfatal = [\"unparseable\", \"no_such_code\"]\n"),
        {"cfg.toml:2:", "validation.fatal[1]: unknown finding code 'no_such_code'", "missing_uid"});
    const Config config = parse_toml("[validation]\nfatal = [\"uid_mismatch\"]\n");
    const auto& fatal = config.validation.fatal;
    EXPECT_EQ(fatal.front(), "uid_mismatch");
    EXPECT_NE(std::find(fatal.begin(), fatal.end(), "unparseable"), fatal.end());
    EXPECT_NE(std::find(fatal.begin(), fatal.end(), "missing_uid"), fatal.end());
    EXPECT_EQ(fatal.size(), 3u);
}

TEST(ConfigValidation, AeTitleInTwoTownshipsIsRefused) {
    const std::string text =
        "[[townships]]\nname = \"Dongshan\"\nae_titles = [\"SHARED_CT\"]\n"
        "[[townships]]\nname = \"Xiping\"\nae_titles = [\"XIPING_US\", \"SHARED_CT \"]\n";
    expect_contains(parse_error(text), {"cfg.toml:6:", "townships[1].ae_titles[1]", "'SHARED_CT'",
                                        "'Dongshan'", "line 3"});
}

TEST(ConfigValidation, DuplicateTownshipNameIsRefused) {
    const std::string text =
        "[[townships]]\nname = \"Dongshan\"\nae_titles = [\"A\"]\n"
        "[[townships]]\nname = \"Dongshan\"\nae_titles = [\"B\"]\n";
    expect_contains(parse_error(text), {"cfg.toml:5:", "townships[1].name: duplicate"});
    expect_contains(parse_error("[[townships]]\nname = \"unregistered\"\nae_titles = [\"A\"]\n"),
                    {"townships[0].name", "reserved"});
}

TEST(ConfigValidation, ValidateChecksEditedConfigs) {
    Config config = embedded_default();
    config.dicom.ae_title = "";
    expect_contains(error_of([&] { validate(config); }), {"dicom.ae_title: expected an AE title"});

    config = embedded_default();
    config.dicom.max_pdu_bytes = 32u << 20;
    expect_contains(error_of([&] { validate(config); }), {"dicom.max_pdu_bytes"});

    config = embedded_default();
    config.townships = {{"A", {"X1"}}, {"B", {"X1"}}};
    expect_contains(error_of([&] { validate(config); }), {"townships[1].ae_titles[0]"});

    config = embedded_default();
    config.http.port = config.dicom.port;
    expect_contains(error_of([&] { validate(config); }), {"http.port"});
}

TEST(ConfigTownships, LookupTrimsSpacesAndHonoursAcceptUnregistered) {
    Config config = embedded_default();
    config.townships = {{"Dongshan", {"DONGSHAN_CT", "DONGSHAN_DR"}}, {"Xiping", {"XIPING_US"}}};
    EXPECT_EQ(config.township_of("DONGSHAN_CT"), "Dongshan");
    EXPECT_EQ(config.township_of("  XIPING_US      "), "Xiping");
    EXPECT_EQ(config.township_of("dongshan_ct"), "unregistered");  // AE titles are case-sensitive
    EXPECT_EQ(config.township_of("UNKNOWN"), std::string(unregistered_township));
    EXPECT_EQ(config.township_of(""), "unregistered");

    config.dicom.accept_unregistered = false;
    EXPECT_EQ(config.township_of("DONGSHAN_DR "), "Dongshan");
    EXPECT_EQ(config.township_of("UNKNOWN"), std::nullopt);
    EXPECT_EQ(config.township_of("    "), std::nullopt);
}

}  // namespace
}  // namespace countylink::config
