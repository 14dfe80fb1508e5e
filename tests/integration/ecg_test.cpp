// ECG ingest end to end: uploads in every format answer at once with the quality verdict, are
// kept and converted for the PACS; a C-STORE of a bad tracing is stored with a warning and the
// reason (a likely arm swap only when the site asks); unreadable files are refused with a reason
// and quarantined; routing uses the verdict.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <set>

#include "codecs/ecg/read.hpp"
#include "codecs/ecg/to_dicom.hpp"
#include "tests/integration/harness.hpp"

namespace countylink::testing {
namespace {

namespace json = boost::json;
namespace ecg = codecs::ecg;

fs::path corpus(const std::string& file) {
    return shared_dir() / "corpus" / "ecg" / file;
}

// POST /api/v1/ecg with curl, so the body goes as a file upload would, with a content type.
HttpResponse upload(const Gateway& gw, const fs::path& file, const std::string& type = {}) {
    const auto r =
        run("curl -s -w '\\n%{http_code}' -H 'Authorization: Bearer " + gw.token() + "' " +
            (type.empty() ? "" : "-H 'Content-Type: " + type + "' ") + "--data-binary @'" +
            file.string() + "' http://127.0.0.1:" + std::to_string(gw.http_port()) + "/api/v1/ecg");
    HttpResponse res;
    const auto nl = r.output.rfind('\n');
    res.body = r.output.substr(0, nl);
    res.status = std::stoi(r.output.substr(nl + 1));
    return res;
}

json::object body_of(const HttpResponse& r) {
    return json::parse(r.body).as_object();
}

std::string gw_args(const Gateway& gw) {
    return " -aec COUNTYLINK 127.0.0.1 " + std::to_string(gw.dicom_port()) + " ";
}

// A DICOM 12-lead ECG from a real recording, changed by `change`.
template <class Change>
fs::path changed_ecg(const fs::path& dir, const std::string& name, Change change) {
    const auto bytes = read_file(corpus("aecg/Example_aECG.xml"));
    ecg::ParseResult parsed = ecg::read_ecg(bytes);
    EXPECT_TRUE(parsed.ok()) << parsed.error.reason;
    ecg::Waveform w = *parsed.waveform;
    change(w);
    ecg::DicomEcgOptions options;
    options.uid_seed = name;
    const auto converted = ecg::to_dicom_ecg(w, options);
    EXPECT_TRUE(converted.ok()) << converted.error;
    const fs::path file = dir / (name + ".dcm");
    std::ofstream out(file, std::ios::binary);
    out.write(reinterpret_cast<const char*>(converted.bytes.data()),
              static_cast<std::streamsize>(converted.bytes.size()));
    return file;
}

// The same, with one lead replaced by a flat line.
fs::path flat_lead_ecg(const fs::path& dir, const std::string& lead) {
    return changed_ecg(dir, "flat-" + lead, [&](ecg::Waveform& w) {
        for (auto& l : w.leads) {
            if (l.name == lead) std::fill(l.microvolts.begin(), l.microvolts.end(), 12.0f);
        }
    });
}

// The same, recorded with the left and right arm electrodes swapped: I -> -I, II <-> III,
// aVR <-> aVL; and with V3 flat as well when `flat_v3`.
fs::path arms_swapped_ecg(const fs::path& dir, bool flat_v3 = false) {
    return changed_ecg(dir, flat_v3 ? "arms-swapped-flat" : "arms-swapped", [&](ecg::Waveform& w) {
        auto lead = [&](std::string_view name) -> std::vector<float>& {
            for (auto& l : w.leads)
                if (l.name == name) return l.microvolts;
            throw std::runtime_error("no lead " + std::string(name));
        };
        for (auto& v : lead("I")) v = -v;
        std::swap(lead("II"), lead("III"));
        std::swap(lead("aVR"), lead("aVL"));
        if (flat_v3) std::fill(lead("V3").begin(), lead("V3").end(), 12.0f);
    });
}

TEST(EcgUpload, EveryFormatAnswersAtOnceWithItsShapeAndVerdict) {
    TempDir tmp;
    Gateway gw(tmp.path() / "data");
    struct Case {
        std::string file, format;
        double rate, duration;
    };
    const std::vector<Case> cases = {
        {"aecg/Example_aECG.xml", "hl7-aecg", 500, 10},
        {"other/sierra_129DYPRG.XML", "philips-sierra", 500, 11},
        {"other/muse_example1.xml", "ge-muse", 500, 10},
        {"scp/Example.scp", "scp-ecg", 500, 10},
        {"dicom/waveform_ecg.dcm", "dicom", 1000, 10},
    };
    for (const auto& c : cases) {
        const auto res = upload(gw, corpus(c.file));
        ASSERT_EQ(res.status, 201) << c.file << ": " << res.body;
        const auto body = body_of(res);
        EXPECT_EQ(body.at("format").as_string(), c.format) << c.file;
        EXPECT_EQ(body.at("leads").as_int64(), 12) << c.file;
        EXPECT_DOUBLE_EQ(body.at("sample_rate").to_number<double>(), c.rate) << c.file;
        EXPECT_NEAR(body.at("duration_s").to_number<double>(), c.duration, 0.01) << c.file;
        const std::string verdict(body.at("verdict").as_string());
        EXPECT_TRUE(verdict == "acceptable" || verdict == "unacceptable") << verdict;
        EXPECT_EQ(body.at("reasons").as_array().empty(), verdict == "acceptable") << res.body;

        // The verdict is kept, and the waveform can be read back for a viewer.
        const std::string id(body.at("id").as_string());
        const auto summary = gw.get("/api/v1/ecg/" + id);
        ASSERT_EQ(summary.status, 200) << summary.body;
        EXPECT_EQ(body_of(summary).at("verdict").as_string(), verdict);
        const auto wave = gw.get("/api/v1/ecg/" + id + "/waveform?decimate=5");
        ASSERT_EQ(wave.status, 200) << wave.body;
        const auto w = body_of(wave);
        EXPECT_DOUBLE_EQ(w.at("sample_rate").to_number<double>(), c.rate / 5);
        ASSERT_EQ(w.at("leads").as_array().size(), 12u);
        const auto& lead = w.at("leads").as_array()[0].as_object();
        EXPECT_NEAR(static_cast<double>(lead.at("microvolts").as_array().size()),
                    c.rate * c.duration / 5, 2);

        // What the PACS gets is a DICOM ECG object, stored like any other instance.
        const auto instance = gw.get("/api/v1/instances/" + id);
        ASSERT_EQ(instance.status, 200);
        const fs::path stored = tmp.path() / (id + ".dcm");
        std::ofstream(stored, std::ios::binary) << instance.body;
        EXPECT_EQ(dicom_value(stored, "0008,0060"), "ECG") << c.file;
    }
    const auto metrics = gw.get("/metrics").body;
    EXPECT_NE(metrics.find("countylink_ecg_total{township=\"http\",format=\"scp-ecg\""),
              std::string::npos);
}

TEST(EcgUpload, SameFileTwiceIsOneEcg) {
    TempDir tmp;
    Gateway gw(tmp.path() / "data");
    const auto first = upload(gw, corpus("other/muse_example2.xml"));
    ASSERT_EQ(first.status, 201) << first.body;
    const auto second = upload(gw, corpus("other/muse_example2.xml"));
    ASSERT_EQ(second.status, 200) << second.body;
    EXPECT_EQ(body_of(first).at("id"), body_of(second).at("id"));
}

TEST(EcgUpload, UnreadableFilesAreRefusedWithTheReasonAndQuarantined) {
    TempDir tmp;
    Gateway gw(tmp.path() / "data");
    const auto contec = upload(gw, corpus("other/contec_0000037.ECG"));
    EXPECT_EQ(contec.status, 415) << contec.body;
    EXPECT_NE(contec.body.find("not a supported ECG format"), std::string::npos) << contec.body;

    const auto empty = upload(gw, corpus("aecg/empty.xml"));
    EXPECT_EQ(empty.status, 422) << empty.body;
    EXPECT_FALSE(body_of(empty).at("error").as_string().empty());

    const auto broken_scp = upload(gw, corpus("scp/62.SCP"));
    EXPECT_EQ(broken_scp.status, 422) << broken_scp.body;

    const fs::path blank = tmp.path() / "blank";
    std::ofstream{blank};
    EXPECT_EQ(upload(gw, blank).status, 400);

    const auto q = json::parse(gw.get("/api/v1/quarantine").body).at("items").as_array();
    std::set<std::string> findings;
    for (const auto& item : q) findings.insert(std::string(item.at("finding").as_string()));
    EXPECT_TRUE(findings.contains("ecg_unknown_format"));
    EXPECT_TRUE(findings.contains("ecg_malformed"));
    // And the server keeps serving.
    EXPECT_EQ(upload(gw, corpus("aecg/subject1_0.xml")).status, 201);
}

TEST(EcgCStore, FlatLeadIsStoredWithAWarningThatSaysWhichLead) {
    TempDir tmp;
    Gateway gw(tmp.path() / "data");
    const fs::path file = flat_lead_ecg(tmp.path(), "V3");
    const auto r = run("storescu -d" + gw_args(gw) + "'" + file.string() + "'");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("0xb000"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("V3"), std::string::npos) << "Error Comment names the lead";
    const std::string uid = dicom_value(file, "0008,0018");
    const auto summary = json::parse(gw.get("/api/v1/ecg/" + uid).body).as_object();
    EXPECT_EQ(summary.at("verdict").as_string(), "unacceptable");
    EXPECT_NE(json::serialize(summary.at("findings")).find("\"V3\""), std::string::npos);
    EXPECT_NE(gw.get("/metrics")
                  .body.find("countylink_ecg_total{township=\"unregistered\",format=\"dicom\","
                             "verdict=\"unacceptable\"} 1"),
              std::string::npos);
}

bool has_finding(const json::object& summary, std::string_view code) {
    for (const auto& f : summary.at("findings").as_array())
        if (f.as_object().at("code").as_string() == code) return true;
    return false;
}

// A likely arm swap is told to the sender beside an acceptable verdict; a site that wants a
// redo for it says so in [ecg], and then the C-STORE gets the warning with the reason.
TEST(EcgCStore, ArmSwapIsANoteUnlessTheSiteMakesItARedo) {
    TempDir tmp;
    const fs::path file = arms_swapped_ecg(tmp.path());
    const std::string uid = dicom_value(file, "0008,0018");
    {
        Gateway gw(tmp.path() / "default");
        const auto r = run("storescu -d" + gw_args(gw) + "'" + file.string() + "'");
        EXPECT_EQ(r.exit_code, 0) << r.output;
        EXPECT_EQ(r.output.find("0xb000"), std::string::npos) << r.output;
        const auto summary = json::parse(gw.get("/api/v1/ecg/" + uid).body).as_object();
        EXPECT_EQ(summary.at("verdict").as_string(), "acceptable");
        EXPECT_TRUE(has_finding(summary, "limb_lead_reversal")) << json::serialize(summary);
        EXPECT_TRUE(summary.at("reasons").as_array().empty()) << json::serialize(summary);
        ASSERT_EQ(summary.at("notes").as_array().size(), 1u) << json::serialize(summary);
        EXPECT_NE(json::serialize(summary.at("notes")).find("swapped"), std::string::npos);

        // Unacceptable for a flat lead: the Error Comment gives that reason, not the note.
        const fs::path both = arms_swapped_ecg(tmp.path(), true);
        const auto r2 = run("storescu -d" + gw_args(gw) + "'" + both.string() + "'");
        EXPECT_NE(r2.output.find("0xb000"), std::string::npos) << r2.output;
        const auto comment = r2.output.find("ECG unacceptable: V3 flat");
        ASSERT_NE(comment, std::string::npos) << r2.output;
        EXPECT_EQ(r2.output.find("swapped", comment), std::string::npos) << r2.output;
    }
    Gateway strict(tmp.path() / "strict", "[ecg]\nreversal_is_unacceptable = true\n");
    const auto r = run("storescu -d" + gw_args(strict) + "'" + file.string() + "'");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("0xb000"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("swapped"), std::string::npos) << "Error Comment says why";
    const auto summary = json::parse(strict.get("/api/v1/ecg/" + uid).body).as_object();
    EXPECT_EQ(summary.at("verdict").as_string(), "unacceptable");
    EXPECT_TRUE(has_finding(summary, "limb_lead_reversal")) << json::serialize(summary);
    EXPECT_TRUE(summary.at("notes").as_array().empty()) << json::serialize(summary);
}

// After a lost index, `countylinkctl reindex` gives every ECG its verdict back and links each
// uploaded original to its DICOM conversion again, so the waveform view reads the original.
TEST(EcgReindex, VerdictsAndOriginalsComeBack) {
    TempDir tmp;
    const fs::path data = tmp.path() / "data";
    const std::vector<std::string> uploads = {"aecg/Example_aECG.xml", "scp/Example.scp",
                                              "other/muse_example1.xml"};
    std::vector<json::object> before;
    const fs::path flat = flat_lead_ecg(tmp.path(), "V3");
    {
        Gateway gw(data);
        for (const auto& file : uploads) {
            const auto res = upload(gw, corpus(file));
            ASSERT_EQ(res.status, 201) << file << ": " << res.body;
            before.push_back(body_of(res));
        }
        ASSERT_EQ(run("storescu" + gw_args(gw) + "'" + flat.string() + "'").exit_code, 0);
        const auto res = gw.get("/api/v1/ecg/" + dicom_value(flat, "0008,0018"));
        ASSERT_EQ(res.status, 200) << res.body;
        before.push_back(body_of(res));
    }
    for (const char* name : {"index.sqlite", "index.sqlite-wal", "index.sqlite-shm"}) {
        fs::remove(data / name);
    }
    const auto reindex =
        run((bin_dir() / "countylinkctl").string() + " reindex --data-dir '" + data.string() + "'");
    ASSERT_EQ(reindex.exit_code, 0) << reindex.output;
    EXPECT_NE(reindex.output.find("indexed 4 instances (3 with the original ECG file"),
              std::string::npos)
        << reindex.output;

    Gateway gw(data);
    for (const auto& was : before) {
        const std::string id(was.at("id").as_string());
        const auto res = gw.get("/api/v1/ecg/" + id);
        ASSERT_EQ(res.status, 200) << id << ": " << res.body;
        const auto now = body_of(res);
        for (const char* key : {"format", "verdict", "leads", "findings"}) {
            EXPECT_EQ(json::serialize(now.at(key)), json::serialize(was.at(key)))
                << id << " " << key;
        }
        const auto wave = gw.get("/api/v1/ecg/" + id + "/waveform?decimate=10");
        EXPECT_EQ(wave.status, 200) << wave.body;
    }
    EXPECT_EQ(before.back().at("verdict").as_string(), "unacceptable");  // the flat V3
}

TEST(EcgRouting, UnacceptableTracingsGoToTheRedoQueue) {
    TempDir tmp;
    Gateway gw(tmp.path() / "data", R"(
[[routing.rules]]
ecg_verdicts = ["unacceptable"]
queues = ["ecg-redo"]

[[routing.rules]]
ecg_verdicts = ["acceptable"]
queues = ["cardiology"]
)");
    const fs::path flat = flat_lead_ecg(tmp.path(), "II");
    EXPECT_EQ(run("storescu" + gw_args(gw) + "'" + flat.string() + "'").exit_code, 0);
    ASSERT_EQ(upload(gw, corpus("aecg/Example_aECG.xml")).status, 201);
    const auto redo = json::parse(gw.get("/api/v1/queues/ecg-redo/items").body);
    const auto cardiology = json::parse(gw.get("/api/v1/queues/cardiology/items").body);
    EXPECT_EQ(redo.at("items").as_array().size(), 1u) << gw.get("/api/v1/queues").body;
    EXPECT_EQ(cardiology.at("items").as_array().size(), 1u);
}

}  // namespace
}  // namespace countylink::testing
