// Config loading: defaults, the example files, and errors that name the key and the line.
#include "config/config.hpp"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

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

// Destinations built field by field: ForwardDestination grows, and positional aggregates would
// silently shift.
ForwardDestination dicom_destination(const std::string& name, const std::string& ae_title,
                                     const std::string& host, uint16_t port = 104,
                                     const std::string& calling_ae = "") {
    ForwardDestination d;
    d.name = name;
    d.ae_title = ae_title;
    d.host = host;
    d.port = port;
    d.calling_ae = calling_ae;
    return d;
}

ForwardDestination stowrs_destination(const std::string& name, const std::string& url,
                                      const std::string& token = "") {
    ForwardDestination d;
    d.name = name;
    d.type = "stowrs";
    d.url = url;
    d.token = token;
    return d;
}

TEST(ConfigDefaults, EmbeddedDefaultHasDocumentedValues) {
    const Config config = embedded_default();
    EXPECT_EQ(config.dicom.port, 11112);
    EXPECT_EQ(config.dicom.ae_title, "COUNTYLINK");
    EXPECT_EQ(config.dicom.max_pdu_bytes, 262144u);
    EXPECT_TRUE(config.dicom.accept_unregistered);
    EXPECT_EQ(config.http.port, 8080);
    EXPECT_EQ(config.storage.data_dir, std::filesystem::path("./var"));
    EXPECT_EQ(config.storage.zstd_level, 1);
    EXPECT_EQ(config.server.workers, 4u);
    EXPECT_EQ(config.server.log_level, "info");
    EXPECT_TRUE(config.townships.empty());
    EXPECT_EQ(config.routing.stable_after_s, 60u);
    EXPECT_TRUE(config.routing.rules.empty());
    EXPECT_TRUE(config.api.tokens.empty());
    EXPECT_EQ(config.api.lease_s, 900u);
    EXPECT_EQ(config.turnaround.stat_s, 1800u);
    EXPECT_EQ(config.turnaround.urgent_s, 4u * 3600);
    EXPECT_EQ(config.turnaround.routine_s, 24u * 3600);
    EXPECT_TRUE(config.forward.destinations.empty());
    EXPECT_EQ(config.forward.retry_deadline_s, 7u * 86400);
    EXPECT_EQ(config.forward.backoff_initial_s, 5u);
    EXPECT_EQ(config.forward.backoff_max_s, 600u);
    EXPECT_EQ(config.forward.batch, 50u);
    EXPECT_NO_THROW(validate(config));
}

TEST(ConfigDefaults, PriorityNames) {
    EXPECT_STREQ(priority_name(Priority::stat), "stat");
    EXPECT_STREQ(priority_name(Priority::urgent), "urgent");
    EXPECT_STREQ(priority_name(Priority::routine), "routine");
}

TEST(ConfigDefaults, EmptyNewTablesGiveDefault) {
    EXPECT_EQ(parse_toml("[routing]\nrules = []\n[api]\ntokens = []\n[turnaround]\n"
                         "[forward]\ndestinations = []\n"),
              embedded_default());
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

    EXPECT_EQ(config.routing.stable_after_s, 120u);
    const std::vector<std::string> ecg_classes{"1.2.840.10008.5.1.4.1.1.9.1.1",
                                               "1.2.840.10008.5.1.4.1.1.9.1.2",
                                               "1.2.840.10008.5.1.4.1.1.9.1.3"};
    const std::vector<std::string> county_pacs{"county-pacs"};
    ASSERT_EQ(config.routing.rules.size(), 3u);
    const RouteRule& xiping_ecg = config.routing.rules[0];
    EXPECT_TRUE(xiping_ecg.modalities.empty());
    EXPECT_EQ(xiping_ecg.sop_classes, ecg_classes);
    EXPECT_EQ(xiping_ecg.townships, std::vector<std::string>{"Xiping"});
    EXPECT_EQ(xiping_ecg.priority, Priority::stat);
    EXPECT_EQ(xiping_ecg.queues, std::vector<std::string>{"ecg"});
    EXPECT_EQ(xiping_ecg.forward, county_pacs);
    const RouteRule& ecg = config.routing.rules[1];
    EXPECT_EQ(ecg.sop_classes, ecg_classes);
    EXPECT_TRUE(ecg.townships.empty());
    EXPECT_EQ(ecg.priority, std::nullopt);
    EXPECT_EQ(ecg.queues, std::vector<std::string>{"ecg"});
    EXPECT_EQ(ecg.forward, county_pacs);
    const RouteRule& imaging = config.routing.rules[2];
    EXPECT_EQ(imaging.modalities, (std::vector<std::string>{"CT", "DX", "CR", "US"}));
    EXPECT_EQ(imaging.priority, std::nullopt);
    EXPECT_EQ(imaging.queues, std::vector<std::string>{"imaging"});
    EXPECT_EQ(imaging.forward, county_pacs);
    const std::vector<ForwardDestination> destinations{
        dicom_destination("county-pacs", "COUNTY_PACS", "10.0.0.20", 104)};
    EXPECT_EQ(config.forward.destinations, destinations);
    EXPECT_EQ(config.forward.retry_deadline_s, ForwardSettings{}.retry_deadline_s);
    ASSERT_EQ(config.api.tokens.size(), 1u);
    EXPECT_NE(config.api.tokens[0].token.find("change-me"), std::string::npos);
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

TEST(ConfigRouting, RulesParse) {
    const Config config = parse_toml(
        "[[townships]]\nname = \"Xiping\"\nae_titles = [\"XIPING_ECG\"]\n"
        "[routing]\nstable_after_s = 0\n"
        "[[routing.rules]]\nsop_classes = [\"1.2.840.10008.5.1.4.1.1.9.1.1\"]\n"
        "townships = [\"Xiping\", \"unregistered\"]\npriority = \"urgent\"\n"
        "queues = [\"ecg\", \"cardio-2\"]\n"
        "[[routing.rules]]\nmodalities = [\"CT\", \"SR_X\"]\nqueues = [\"imaging\"]\n");
    EXPECT_EQ(config.routing.stable_after_s, 0u);
    ASSERT_EQ(config.routing.rules.size(), 2u);
    const RouteRule expected_first{{},
                                   {"1.2.840.10008.5.1.4.1.1.9.1.1"},
                                   {"Xiping", "unregistered"},
                                   Priority::urgent,
                                   {"ecg", "cardio-2"},
                                   {},
                                   {}};
    EXPECT_EQ(config.routing.rules[0], expected_first);
    const RouteRule expected_second{{"CT", "SR_X"}, {}, {}, std::nullopt, {"imaging"}, {}, {}};
    EXPECT_EQ(config.routing.rules[1], expected_second);
}

TEST(ConfigRouting, WrongPriorityNamesKeyAndAllowedValues) {
    expect_contains(
        parse_error("[[routing.rules]]\nqueues = [\"ecg\"]\npriority = \"asap\"\n"),
        {"cfg.toml:3:", "routing.rules[0].priority", "stat, urgent, routine", "'asap'"});
    expect_contains(parse_error("[[routing.rules]]\nqueues = [\"ecg\"]\npriority = 1\n"),
                    {"routing.rules[0].priority", "stat, urgent, routine", "got integer"});
}

TEST(ConfigRouting, UnknownTownshipInRuleIsRefused) {
    const std::string text =
        "[[townships]]\nname = \"Xiping\"\nae_titles = [\"XIPING_ECG\"]\n"
        "[[routing.rules]]\nqueues = [\"ecg\"]\n"
        "[[routing.rules]]\ntownships = [\"Xiping\", \"Dongshan\"]\nqueues = [\"ecg\"]\n";
    expect_contains(parse_error(text), {"cfg.toml:7:", "routing.rules[1].townships[1]",
                                        "unknown township 'Dongshan'", "Xiping", "unregistered"});
}

TEST(ConfigRouting, BadRuleValuesAreRefused) {
    expect_contains(parse_error("[[routing.rules]]\nmodalities = [\"CT\"]\n"),
                    {"cfg.toml:1:",
                     "routing.rules[0]: expected at least one reading queue (queues) "
                     "or forward destination (forward)"});
    expect_contains(parse_error("[[routing.rules]]\nqueues = []\n"),
                    {"cfg.toml:2:", "routing.rules[0]: expected at least one reading queue"});
    expect_contains(parse_error("[[routing.rules]]\nmodalities = [\"CT\"]\nforward = []\n"),
                    {"cfg.toml:3:", "routing.rules[0]: expected at least one reading queue"});
    expect_contains(parse_error("[[routing.rules]]\nqueues = [\"Imaging\"]\n"),
                    {"routing.rules[0].queues[0]: expected a queue name", "'Imaging'"});
    expect_contains(parse_error("[[routing.rules]]\nqueues = [\"" + std::string(33, 'q') + "\"]\n"),
                    {"routing.rules[0].queues[0]: expected a queue name"});
    expect_contains(
        parse_error("[[routing.rules]]\nmodalities = [\"CT\", \"ct\"]\nqueues = [\"a\"]\n"),
        {"cfg.toml:2:", "routing.rules[0].modalities[1]: expected a modality", "'ct'"});
    expect_contains(
        parse_error("[[routing.rules]]\nsop_classes = [\"1.2..3\"]\nqueues = [\"a\"]\n"),
        {"routing.rules[0].sop_classes[0]: expected a UID", "'1.2..3'"});
    expect_contains(
        parse_error("[[routing.rules]]\nsop_classes = [\"1.2.3a\"]\nqueues = [\"a\"]\n"),
        {"routing.rules[0].sop_classes[0]: expected a UID"});
    expect_contains(parse_error("[[routing.rules]]\nqueues = [\"a\"]\nqueue = [\"b\"]\n"),
                    {"cfg.toml:3:", "unknown key 'routing.rules[0].queue'",
                     "allowed: modalities, sop_classes, townships, ecg_verdicts, priority, "
                     "queues, forward"});
    expect_contains(
        parse_error("[[routing.rules]]\necg_verdicts = [\"bad\"]\nqueues = [\"a\"]\n"),
        {"cfg.toml:2:", "routing.rules[0].ecg_verdicts: expected one of acceptable, unacceptable",
         "'bad'"});
    expect_contains(parse_error("[routing]\nrules = 3\n"),
                    {"routing.rules: expected an array of tables"});
    expect_contains(
        parse_error("[routing]\nstable_after_s = 86401\n"),
        {"cfg.toml:2:", "routing.stable_after_s: expected an integer 0-86400, got 86401"});
}

TEST(ConfigApi, TokensParse) {
    const Config config = parse_toml(
        "[api]\nlease_s = 60\n"
        "[[api.tokens]]\nname = \"reader@county.example\"\ntoken = \"0123456789abcdef\"\n"
        "[[api.tokens]]\nname = \"ops\"\ntoken = \"s3cr3t!-with_symbols~\"\n");
    EXPECT_EQ(config.api.lease_s, 60u);
    const std::vector<ApiToken> expected{{"reader@county.example", "0123456789abcdef"},
                                         {"ops", "s3cr3t!-with_symbols~"}};
    EXPECT_EQ(config.api.tokens, expected);
}

TEST(ConfigApi, TokenTooShortIsRefusedWithoutShowingIt) {
    const std::string message =
        parse_error("[[api.tokens]]\nname = \"ops\"\ntoken = \"short-secret\"\n");
    expect_contains(message, {"cfg.toml:3:", "api.tokens[0].token", "at least 16"});
    EXPECT_EQ(message.find("short-secret"), std::string::npos) << message;

    const std::string spaced =
        parse_error("[[api.tokens]]\nname = \"ops\"\ntoken = \"long enough but spaced\"\n");
    expect_contains(spaced, {"api.tokens[0].token", "space"});
    EXPECT_EQ(spaced.find("spaced"), std::string::npos) << spaced;
}

TEST(ConfigApi, DuplicateTokenIsRefusedWithoutShowingIt) {
    const std::string message = parse_error(
        "[[api.tokens]]\nname = \"a\"\ntoken = \"same-secret-0123456789\"\n"
        "[[api.tokens]]\nname = \"b\"\ntoken = \"same-secret-0123456789\"\n");
    expect_contains(message, {"cfg.toml:6:", "token of api.tokens[1]", "api.tokens[0]", "line 3"});
    EXPECT_EQ(message.find("same-secret"), std::string::npos) << message;
}

TEST(ConfigApi, BadNamesAndLeaseAreRefused) {
    expect_contains(parse_error("[[api.tokens]]\nname = \"a\"\ntoken = \"0123456789abcdef\"\n"
                                "[[api.tokens]]\nname = \"a\"\ntoken = \"fedcba9876543210\"\n"),
                    {"cfg.toml:5:", "api.tokens[1].name: duplicate token name 'a'", "line 2"});
    expect_contains(
        parse_error("[[api.tokens]]\nname = \"has space\"\ntoken = \"0123456789abcdef\"\n"),
        {"cfg.toml:2:", "api.tokens[0].name: expected a token name"});
    expect_contains(parse_error("[[api.tokens]]\nname = \"\"\ntoken = \"0123456789abcdef\"\n"),
                    {"api.tokens[0].name"});
    expect_contains(parse_error("[[api.tokens]]\nname = \"a\"\n"),
                    {"cfg.toml:1:", "api.tokens[0].token: missing"});
    expect_contains(parse_error("[[api.tokens]]\nname = \"a\"\ntoken = 1234567890123456789\n"),
                    {"api.tokens[0].token: expected a token string, got integer"});
    expect_contains(parse_error("[api]\nlease_s = 9\n"),
                    {"cfg.toml:2:", "api.lease_s: expected an integer 10-86400, got 9"});
    expect_contains(parse_error("[api]\ntoken = []\n"),
                    {"unknown key 'api.token'", "allowed: lease_s, tokens"});
}

TEST(ConfigTurnaround, RangesAreChecked) {
    const Config config =
        parse_toml("[turnaround]\nstat_s = 60\nurgent_s = 7200\nroutine_s = 2592000\n");
    EXPECT_EQ(config.turnaround, (TurnaroundSettings{60, 7200, 2592000}));
    expect_contains(parse_error("[turnaround]\nstat_s = 59\n"),
                    {"cfg.toml:2:", "turnaround.stat_s: expected an integer 60-2592000, got 59"});
    expect_contains(parse_error("[turnaround]\nroutine_s = 2592001\n"), {"turnaround.routine_s"});
    expect_contains(parse_error("[turnaround]\nurgent = 3600\n"),
                    {"unknown key 'turnaround.urgent'", "allowed: stat_s, urgent_s, routine_s"});
}

TEST(ConfigValidation, ValidateChecksEditedRoutingAndApi) {
    Config config = embedded_default();
    config.routing.rules = {RouteRule{{}, {}, {"Nowhere"}, std::nullopt, {"ecg"}, {}, {}}};
    expect_contains(error_of([&] { validate(config); }),
                    {"routing.rules[0].townships[0]", "unknown township 'Nowhere'"});

    config = embedded_default();
    config.routing.rules = {RouteRule{}};
    expect_contains(error_of([&] { validate(config); }),
                    {"routing.rules[0]: expected at least one reading queue"});

    config = embedded_default();
    config.routing.rules = {RouteRule{{}, {}, {}, static_cast<Priority>(7), {"ecg"}, {}, {}}};
    expect_contains(error_of([&] { validate(config); }), {"routing.rules[0].priority"});

    config = embedded_default();
    config.api.tokens = {{"a", "0123456789abcdef"}, {"b", "0123456789abcdef"}};
    const std::string message = error_of([&] { validate(config); });
    expect_contains(message, {"token of api.tokens[1]"});
    EXPECT_EQ(message.find("0123456789abcdef"), std::string::npos) << message;

    config = embedded_default();
    config.turnaround.urgent_s = 0;
    expect_contains(error_of([&] { validate(config); }), {"turnaround.urgent_s"});
}

const std::string county_pacs =
    "[[forward.destinations]]\nname = \"county-pacs\"\nae_title = \"COUNTY_PACS\"\n"
    "host = \"10.0.0.20\"\nport = 104\n";

TEST(ConfigForward, DestinationsAndSettingsParse) {
    const Config config = parse_toml(
        "[forward]\nretry_deadline_s = 60\nbackoff_initial_s = 30\nbackoff_max_s = 30\n"
        "batch = 1000\n" +
        county_pacs +
        "[[forward.destinations]]\nname = \"archive_2\"\nae_title = \" ARCHIVE \"\n"
        "host = \"pacs.county.example\"\ncalling_ae = \"COUNTYLINK_FWD\"\n");
    EXPECT_EQ(config.forward.retry_deadline_s, 60u);
    EXPECT_EQ(config.forward.backoff_initial_s, 30u);
    EXPECT_EQ(config.forward.backoff_max_s, 30u);
    EXPECT_EQ(config.forward.batch, 1000u);
    const std::vector<ForwardDestination> expected{
        dicom_destination("county-pacs", "COUNTY_PACS", "10.0.0.20", 104),
        dicom_destination("archive_2", " ARCHIVE ", "pacs.county.example", 104, "COUNTYLINK_FWD")};
    EXPECT_EQ(config.forward.destinations, expected);
}

TEST(ConfigStorageCommitment, PeersParseAndAreFoundByCallingAe) {
    const Config config = parse_toml(
        "[[storage_commitment.peers]]\nae_title = \"DONGSHAN_CT\"\nhost = \"10.1.2.3\"\n"
        "[[storage_commitment.peers]]\nae_title = \"XIHE_DR\"\nhost = \"xihe-dr\"\nport = 4006\n");
    ASSERT_EQ(config.storage_commitment.peers.size(), 2u);
    EXPECT_EQ(config.storage_commitment.peers[0].port, 104);  // the DICOM default
    const CommitmentPeer* peer = config.commitment_peer(" XIHE_DR ");
    ASSERT_NE(peer, nullptr);
    EXPECT_EQ(peer->host, "xihe-dr");
    EXPECT_EQ(peer->port, 4006);
    EXPECT_EQ(config.commitment_peer("OTHER"), nullptr);
    EXPECT_EQ(embedded_default().commitment_peer("DONGSHAN_CT"), nullptr);
}

TEST(ConfigEcg, NotesBecomeReasonsOnlyWhenAsked) {
    EXPECT_FALSE(embedded_default().ecg.reversal_is_unacceptable);
    EXPECT_FALSE(embedded_default().ecg.muscle_noise_is_unacceptable);
    const Config config =
        parse_toml("[ecg]\nreversal_is_unacceptable = true\nmuscle_noise_is_unacceptable = true\n");
    EXPECT_TRUE(config.ecg.reversal_is_unacceptable);
    EXPECT_TRUE(config.ecg.muscle_noise_is_unacceptable);
    expect_contains(parse_error("[ecg]\nreversal_is_unacceptable = \"yes\"\n"),
                    {"cfg.toml:2:", "ecg.reversal_is_unacceptable"});
    expect_contains(parse_error("[ecg]\nreversal_is_redo = true\n"),
                    {"cfg.toml:2:", "ecg.reversal_is_redo"});
}

TEST(ConfigRetention, DaysAndHourParseAndAreBounded) {
    const Config config = parse_toml("[retention]\npurge_after_days = 90\nrun_at_hour = 23\n");
    EXPECT_EQ(config.retention.purge_after_days, 90u);
    EXPECT_EQ(config.retention.run_at_hour, 23u);
    EXPECT_EQ(embedded_default().retention.purge_after_days, 0u);  // off unless asked for
    expect_contains(parse_error("[retention]\nrun_at_hour = 24\n"),
                    {"cfg.toml:2:", "retention.run_at_hour: expected an integer 0-23"});
    expect_contains(parse_error("[retention]\npurge_after_days = 36501\n"),
                    {"cfg.toml:2:", "retention.purge_after_days"});
    expect_contains(parse_error("[retention]\nkeep_days = 3\n"),
                    {"cfg.toml:2:", "retention.keep_days"});
}

TEST(ConfigStorageCommitment, BadPeersNameTheKey) {
    const std::string peer = "[[storage_commitment.peers]]\nae_title = \"CT1\"\nhost = \"h\"\n";
    expect_contains(parse_error(peer + peer),
                    {"cfg.toml:5:",
                     "storage_commitment.peers[1].ae_title: AE title 'CT1' is "
                     "listed twice (also storage_commitment.peers[0].ae_title"});
    expect_contains(
        parse_error("[[storage_commitment.peers]]\nae_title = \"CT1\"\nhost = \"h\"\nport = 0\n"),
        {"cfg.toml:4:", "storage_commitment.peers[0].port"});
    expect_contains(parse_error("[[storage_commitment.peers]]\nhost = \"h\"\n"),
                    {"storage_commitment.peers[0]", "ae_title"});
    expect_contains(parse_error("[[storage_commitment.peers]]\nae_title = \"CT1\"\nhost = "
                                "\"h\"\nmode = \"same\"\n"),
                    {"cfg.toml:4:", "storage_commitment.peers[0].mode"});
}

TEST(ConfigForward, RuleWithOnlyForwardIsValid) {
    const Config config = parse_toml(county_pacs +
                                     "[[routing.rules]]\nmodalities = [\"CT\"]\nforward = "
                                     "[\"county-pacs\"]\n");
    ASSERT_EQ(config.routing.rules.size(), 1u);
    EXPECT_TRUE(config.routing.rules[0].queues.empty());
    EXPECT_EQ(config.routing.rules[0].forward, std::vector<std::string>{"county-pacs"});

    Config edited = embedded_default();
    edited.forward.destinations = {dicom_destination("pacs", "PACS", "pacs.local", 11112)};
    edited.routing.rules = {RouteRule{{"DX"}, {}, {}, std::nullopt, {}, {"pacs"}, {}}};
    EXPECT_NO_THROW(validate(edited));
}

TEST(ConfigForward, UnknownDestinationInRuleNamesRuleAndKnownDestinations) {
    const std::string text = county_pacs +
                             "[[forward.destinations]]\nname = \"archive\"\nae_title = \"ARC\"\n"
                             "host = \"10.0.0.21\"\n"
                             "[[routing.rules]]\nqueues = [\"ecg\"]\n"
                             "[[routing.rules]]\nqueues = [\"imaging\"]\n"
                             "forward = [\"county-pacs\", \"county_pacs\"]\n";
    expect_contains(parse_error(text),
                    {"cfg.toml:14:", "routing.rules[1].forward[1]",
                     "unknown forward destination 'county_pacs'", "known: archive, county-pacs"});
    expect_contains(parse_error("[[routing.rules]]\nforward = [\"county-pacs\"]\n"),
                    {"cfg.toml:2:", "routing.rules[0].forward[0]",
                     "unknown forward destination 'county-pacs'", "known: none"});
    expect_contains(parse_error(county_pacs + "[[routing.rules]]\nforward = \"county-pacs\"\n"),
                    {"routing.rules[0].forward: expected an array of forward destination names, "
                     "got string"});
}

TEST(ConfigForward, DuplicateDestinationNameIsRefused) {
    expect_contains(
        parse_error(county_pacs + county_pacs),
        {"cfg.toml:7:", "forward.destinations[1].name: duplicate destination name 'county-pacs'",
         "forward.destinations[0].name, line 2"});
}

TEST(ConfigForward, BackoffMaxBelowInitialIsRefused) {
    expect_contains(parse_error("[forward]\nbackoff_initial_s = 60\nbackoff_max_s = 30\n"),
                    {"cfg.toml:3:",
                     "forward.backoff_max_s: expected at least 60 "
                     "(forward.backoff_initial_s, line 2), got 30"});
    // Against the default initial backoff (5 s) when only the maximum is given.
    expect_contains(parse_error("[forward]\nbackoff_max_s = 4\n"),
                    {"cfg.toml:2:",
                     "forward.backoff_max_s: expected at least 5 "
                     "(forward.backoff_initial_s), got 4"});
    Config config = embedded_default();
    config.forward.backoff_initial_s = 700;
    expect_contains(error_of([&] { validate(config); }),
                    {"forward.backoff_max_s: expected at least 700"});
}

TEST(ConfigForward, RangesAndKeysAreChecked) {
    expect_contains(
        parse_error("[forward]\nretry_deadline_s = 59\n"),
        {"cfg.toml:2:", "forward.retry_deadline_s: expected an integer 60-2592000, got 59"});
    expect_contains(parse_error("[forward]\nretry_deadline_s = 2592001\n"),
                    {"forward.retry_deadline_s"});
    expect_contains(parse_error("[forward]\nbackoff_initial_s = 0\n"),
                    {"forward.backoff_initial_s: expected an integer 1-3600, got 0"});
    expect_contains(parse_error("[forward]\nbackoff_initial_s = 3601\nbackoff_max_s = 86400\n"),
                    {"forward.backoff_initial_s: expected an integer 1-3600, got 3601"});
    expect_contains(parse_error("[forward]\nbackoff_max_s = 86401\n"),
                    {"forward.backoff_max_s: expected an integer 1-86400, got 86401"});
    expect_contains(parse_error("[forward]\nbatch = 0\n"),
                    {"forward.batch: expected an integer 1-1000, got 0"});
    expect_contains(parse_error("[forward]\nbatch = 1001\n"), {"forward.batch"});
    expect_contains(parse_error("[forward]\nretries = 3\n"),
                    {"cfg.toml:2:", "unknown key 'forward.retries'",
                     "allowed: retry_deadline_s, backoff_initial_s, backoff_max_s, batch, "
                     "destinations"});
    expect_contains(parse_error("[forward]\ndestinations = 3\n"),
                    {"forward.destinations: expected an array of tables"});
    expect_contains(parse_error(county_pacs + "calling = \"X\"\n"),
                    {"cfg.toml:6:", "unknown key 'forward.destinations[0].calling'",
                     "allowed: name, type, ae_title, host, port, calling_ae, url, token"});
}

TEST(ConfigForward, BadDestinationValuesAreRefused) {
    const auto destination = [](const std::string& name, const std::string& ae,
                                const std::string& host, const std::string& extra = "") {
        return "[[forward.destinations]]\nname = \"" + name + "\"\nae_title = \"" + ae +
               "\"\nhost = \"" + host + "\"\n" + extra;
    };
    expect_contains(parse_error(destination("County-PACS", "PACS", "h")),
                    {"cfg.toml:2:", "forward.destinations[0].name: expected a destination name",
                     "'County-PACS'"});
    expect_contains(parse_error(destination(std::string(33, 'd'), "PACS", "h")),
                    {"forward.destinations[0].name: expected a destination name"});
    expect_contains(parse_error(destination("", "PACS", "h")), {"forward.destinations[0].name"});
    expect_contains(parse_error(destination("pacs", "SEVENTEEN_CHARS_X", "h")),
                    {"cfg.toml:3:", "forward.destinations[0].ae_title: expected an AE title"});
    expect_contains(parse_error(destination("pacs", "PACS", "")),
                    {"cfg.toml:4:", "forward.destinations[0].host: expected a host name", "''"});
    expect_contains(parse_error(destination("pacs", "PACS", " 10.0.0.20")),
                    {"forward.destinations[0].host: expected a host name", "' 10.0.0.20'"});
    expect_contains(parse_error(destination("pacs", "PACS", "h", "port = 0\n")),
                    {"cfg.toml:5:", "forward.destinations[0].port: expected an integer 1-65535"});
    expect_contains(parse_error(destination("pacs", "PACS", "h", "port = 65536\n")),
                    {"forward.destinations[0].port"});
    expect_contains(parse_error(destination("pacs", "PACS", "h", "calling_ae = \"A\\\\B\"\n")),
                    {"cfg.toml:5:", "forward.destinations[0].calling_ae: expected an AE title"});
    expect_contains(
        parse_error(destination("pacs", "PACS", "h", "calling_ae = \"\"\n")),
        {"forward.destinations[0].calling_ae: expected an AE title", "leave calling_ae out"});
    expect_contains(parse_error("[[forward.destinations]]\nname = \"pacs\"\nhost = \"h\"\n"),
                    {"cfg.toml:1:", "forward.destinations[0].ae_title: missing"});
    expect_contains(parse_error("[[forward.destinations]]\nname = \"pacs\"\nae_title = \"P\"\n"),
                    {"cfg.toml:1:", "forward.destinations[0].host: missing"});
    expect_contains(parse_error("[[forward.destinations]]\nae_title = \"P\"\nhost = \"h\"\n"),
                    {"forward.destinations[0].name: missing"});

    Config config = embedded_default();
    config.forward.destinations = {dicom_destination("pacs", "PACS", "h", 0)};
    expect_contains(error_of([&] { validate(config); }), {"forward.destinations[0].port"});
    config.forward.destinations = {dicom_destination("pacs", "PACS", "h", 104, "   ")};
    expect_contains(error_of([&] { validate(config); }), {"forward.destinations[0].calling_ae"});
    config.forward.destinations = {dicom_destination("pacs", "PACS", "h")};
    config.routing.rules = {RouteRule{{}, {}, {}, std::nullopt, {}, {"other"}, {}}};
    expect_contains(
        error_of([&] { validate(config); }),
        {"routing.rules[0].forward[0]", "unknown forward destination 'other'", "known: pacs"});
}

// A STOW-RS destination: a [[forward.destinations]] table with type = "stowrs", `url`, `token`.
std::string stowrs(const std::string& extra) {
    return "[[forward.destinations]]\nname = \"prefecture\"\ntype = \"stowrs\"\n" + extra;
}

std::string stowrs_url(const std::string& url) {
    return stowrs("url = \"" + url + "\"\n");
}

TEST(ConfigForwardStowrs, DestinationParses) {
    const Config config =
        parse_toml(county_pacs +
                   stowrs("url = \"http://10.0.1.5:8080/dicomweb\"\n"
                          "token = \"prefecture-secret-0123456789\"\n") +
                   "[[forward.destinations]]\nname = \"plain\"\ntype = \"stowrs\"\n"
                   "url = \"http://pacs.prefecture.example\"\n"
                   "[[forward.destinations]]\nname = \"slash\"\ntype = \"stowrs\"\n"
                   "url = \"http://pacs_2.example:8042/dicom-web/v1/\"\n"
                   "[[forward.destinations]]\nname = \"explicit\"\ntype = \"dicom\"\n"
                   "ae_title = \"PACS2\"\nhost = \"10.0.0.21\"\n"
                   "[[routing.rules]]\nforward = [\"prefecture\", \"county-pacs\"]\n");
    const std::vector<ForwardDestination> expected{
        dicom_destination("county-pacs", "COUNTY_PACS", "10.0.0.20", 104),
        stowrs_destination("prefecture", "http://10.0.1.5:8080/dicomweb",
                           "prefecture-secret-0123456789"),
        stowrs_destination("plain", "http://pacs.prefecture.example"),
        stowrs_destination("slash", "http://pacs_2.example:8042/dicom-web/v1/"),
        dicom_destination("explicit", "PACS2", "10.0.0.21")};
    EXPECT_EQ(config.forward.destinations, expected);
    EXPECT_EQ(ForwardDestination{}.type, "dicom");

    Config edited = embedded_default();
    edited.forward.destinations = {
        stowrs_destination("prefecture", "http://10.0.1.5:8080/dicomweb")};
    EXPECT_NO_THROW(validate(edited));
}

TEST(ConfigForwardStowrs, MissingUrlIsRefused) {
    expect_contains(parse_error(stowrs("")), {"cfg.toml:1:", "forward.destinations[0].url: missing",
                                              "expected a URL http://host[:port][/path]"});
    expect_contains(parse_error(stowrs("token = \"prefecture-secret-0123456789\"\n")),
                    {"forward.destinations[0].url: missing"});
    expect_contains(parse_error(stowrs("url = 8080\n")),
                    {"cfg.toml:4:",
                     "forward.destinations[0].url: expected a URL string, got "
                     "integer"});
    Config edited = embedded_default();
    edited.forward.destinations = {stowrs_destination("prefecture", "")};
    expect_contains(error_of([&] { validate(edited); }),
                    {"forward.destinations[0].url: expected a URL", "got ''"});
}

TEST(ConfigForwardStowrs, HttpsUrlIsRefusedUntilTls) {
    for (const std::string url : {"https://10.0.1.5/dicomweb", "HTTPS://pacs.example:443"}) {
        const std::string message = parse_error(stowrs_url(url));
        expect_contains(message, {"cfg.toml:4:", "forward.destinations[0].url:",
                                  "https is not supported yet", "does not send it", "http://"});
    }
}

TEST(ConfigForwardStowrs, MalformedUrlsAreRefused) {
    const auto url_error = [](const std::string& url) { return parse_error(stowrs_url(url)); };
    expect_contains(url_error("ftp://10.0.1.5/dicomweb"),
                    {"cfg.toml:4:", "forward.destinations[0].url: expected a URL",
                     "starting with http://", "'ftp://10.0.1.5/dicomweb'"});
    expect_contains(url_error("10.0.1.5:8080/dicomweb"), {"starting with http://"});
    expect_contains(url_error(""), {"starting with http://", "got ''"});
    expect_contains(url_error("http://"), {"the host is missing"});
    expect_contains(url_error("http:///dicomweb"), {"the host is missing"});
    expect_contains(url_error("http://:8080/dicomweb"), {"the host is missing"});
    expect_contains(url_error("http://pacs example/dicomweb"), {"without spaces"});
    expect_contains(url_error("http://pacs!/dicomweb"), {"the host may hold"});
    expect_contains(url_error("http://[fd00::5]:8042/dicomweb"),
                    {"IPv6 address literals are not supported"});
    for (const std::string port : {":0", ":65536", ":", ":80a", ":123456", ":-1"}) {
        expect_contains(url_error("http://10.0.1.5" + port + "/dicomweb"),
                        {"the port after the host must be 1-65535"});
    }
    expect_contains(url_error("http://10.0.1.5:80:80/dicomweb"), {"the port after the host"});
    EXPECT_NO_THROW(parse_toml(stowrs_url("http://10.0.1.5:1")));
    EXPECT_NO_THROW(parse_toml(stowrs_url("http://10.0.1.5:65535/a/b")));
    expect_contains(url_error("http://10.0.1.5/dicomweb?x=1"), {"without query or fragment"});
    expect_contains(url_error("http://10.0.1.5/dicomweb#top"), {"without query or fragment"});
    // Credentials in a URL would be echoed: the message leaves the URL out.
    const std::string message = url_error("http://admin:hunter2@10.0.1.5/dicomweb");
    expect_contains(message, {"user names and passwords in the URL are not supported", "token"});
    EXPECT_EQ(message.find("hunter2"), std::string::npos) << message;
}

TEST(ConfigForwardStowrs, TokenIsCheckedWithoutShowingIt) {
    const std::string url = "url = \"http://10.0.1.5:8080/dicomweb\"\n";
    std::string message = parse_error(stowrs(url + "token = \"short-secret\"\n"));
    expect_contains(message, {"cfg.toml:5:",
                              "forward.destinations[0].token: expected a token of "
                              "at least 16",
                              "it has 12 characters"});
    EXPECT_EQ(message.find("short-secret"), std::string::npos) << message;
    message = parse_error(stowrs(url + "token = \"a secret with spaces in it\"\n"));
    expect_contains(message, {"forward.destinations[0].token", "contains a space"});
    EXPECT_EQ(message.find("spaces in it"), std::string::npos) << message;
    expect_contains(parse_error(stowrs(url + "token = \"\"\n")),
                    {"forward.destinations[0].token", "leave token out"});
    expect_contains(parse_error(stowrs(url + "token = 12\n")),
                    {"forward.destinations[0].token: expected a token string, got integer"});

    Config edited = embedded_default();
    edited.forward.destinations = {
        stowrs_destination("prefecture", "http://10.0.1.5:8080/dicomweb", "tiny\tsecret-value")};
    message = error_of([&] { validate(edited); });
    expect_contains(message, {"forward.destinations[0].token", "contains a space"});
    EXPECT_EQ(message.find("secret-value"), std::string::npos) << message;
}

TEST(ConfigForwardStowrs, DicomKeysOnStowrsDestinationAreRefused) {
    const std::string url = "url = \"http://10.0.1.5:8080/dicomweb\"\n";
    for (const std::string key : {"ae_title = \"PREF\"", "host = \"10.0.1.5\"", "port = 104",
                                  "calling_ae = \"COUNTYLINK\""}) {
        const std::string name = key.substr(0, key.find(' '));
        expect_contains(parse_error(stowrs(url + key + "\n")),
                        {"cfg.toml:5:", "forward.destinations[0]." + name + ": " + name +
                                            " is not used by stowrs destinations, which send "
                                            "to url"});
    }
    // Host and port instead of a url: the first of them is named, not the missing url.
    expect_contains(parse_error(stowrs("port = 8080\nhost = \"10.0.1.5\"\n")),
                    {"cfg.toml:4:",
                     "forward.destinations[0].port: port is not used by stowrs "
                     "destinations",
                     "ae_title, host, port, calling_ae belong to dicom destinations"});

    Config edited = embedded_default();
    edited.forward.destinations = {
        stowrs_destination("prefecture", "http://10.0.1.5:8080/dicomweb")};
    edited.forward.destinations[0].host = "10.0.1.5";
    expect_contains(error_of([&] { validate(edited); }),
                    {"forward.destinations[0].host: host is not used by stowrs destinations"});
}

TEST(ConfigForwardStowrs, StowrsKeysOnDicomDestinationAreRefused) {
    expect_contains(parse_error(county_pacs + "url = \"http://10.0.0.20/dicomweb\"\n"),
                    {"cfg.toml:6:",
                     "forward.destinations[0].url: url belongs to stowrs destinations; set "
                     "type = \"stowrs\"",
                     "type \"dicom\", the default"});
    const std::string message = parse_error(
        "[[forward.destinations]]\nname = \"county-pacs\"\ntype = \"dicom\"\n"
        "token = \"county-secret-0123456789\"\nae_title = \"COUNTY_PACS\"\nhost = \"h\"\n");
    expect_contains(message, {"cfg.toml:4:",
                              "forward.destinations[0].token: token belongs to "
                              "stowrs destinations"});
    EXPECT_EQ(message.find("county-secret"), std::string::npos) << message;

    Config edited = embedded_default();
    edited.forward.destinations = {dicom_destination("pacs", "PACS", "h")};
    edited.forward.destinations[0].url = "http://h/dicomweb";
    expect_contains(error_of([&] { validate(edited); }),
                    {"forward.destinations[0].url: url belongs to stowrs destinations"});
}

TEST(ConfigForwardStowrs, WrongTypeIsRefused) {
    expect_contains(parse_error("[[forward.destinations]]\nname = \"p\"\ntype = \"stow-rs\"\n"
                                "url = \"http://10.0.1.5\"\n"),
                    {"cfg.toml:3:",
                     "forward.destinations[0].type: expected one of dicom, "
                     "stowrs, got 'stow-rs'"});
    expect_contains(parse_error("[[forward.destinations]]\nname = \"p\"\ntype = \"DICOM\"\n"),
                    {"forward.destinations[0].type: expected one of dicom, stowrs, got 'DICOM'"});
    expect_contains(parse_error("[[forward.destinations]]\nname = \"p\"\ntype = 1\n"),
                    {"cfg.toml:3:",
                     "forward.destinations[0].type: expected one of dicom, stowrs, got integer"});
    Config edited = embedded_default();
    edited.forward.destinations = {dicom_destination("pacs", "PACS", "h")};
    edited.forward.destinations[0].type = "";
    expect_contains(error_of([&] { validate(edited); }),
                    {"forward.destinations[0].type: expected one of dicom, stowrs, got ''"});
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
