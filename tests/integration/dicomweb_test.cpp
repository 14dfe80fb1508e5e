// DICOMweb against the gateway with curl, the tool every integrator has: STOW-RS (plain,
// gzip, zstd, a bad part), QIDO-RS searches, WADO-RS retrieval with identical bytes.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>

#include "tests/integration/harness.hpp"

namespace countylink::testing {
namespace {

namespace json = boost::json;

const std::string kBoundary = "stow-test-boundary";

// A multipart/related body of the given files, each an application/dicom part.
fs::path multipart_body(const fs::path& out, const std::vector<fs::path>& files) {
    std::ofstream body(out, std::ios::binary);
    for (const auto& f : files) {
        body << "--" << kBoundary << "\r\nContent-Type: application/dicom\r\n\r\n";
        std::ifstream in(f, std::ios::binary);
        body << in.rdbuf() << "\r\n";
    }
    body << "--" << kBoundary << "--\r\n";
    return out;
}

struct Stow {
    int status = 0;
    json::value body;
};

Stow stow(const Gateway& gw, const fs::path& body, const std::string& encoding = "",
          const std::string& path = "/dicomweb/studies") {
    const std::string out = body.string() + ".response";
    const auto r =
        run("curl -s -o '" + out + "' -w '%{http_code}' -H 'Authorization: Bearer " + gw.token() +
            "' " + (encoding.empty() ? "" : "-H 'Content-Encoding: " + encoding + "' ") +
            "-H 'Content-Type: multipart/related; type=\"application/dicom\"; "
            "boundary=" +
            kBoundary + "' --data-binary @'" + body.string() +
            "' http://127.0.0.1:" + std::to_string(gw.http_port()) + path);
    Stow s;
    s.status = std::stoi(r.output);
    std::ifstream in(out);
    std::stringstream text;
    text << in.rdbuf();
    if (!text.str().empty()) s.body = json::parse(text.str());
    return s;
}

std::size_t sequence_size(const json::value& body, const char* tag) {
    const auto* seq = body.as_object().if_contains(tag);
    return seq ? seq->at("Value").as_array().size() : 0;
}

std::string sop_uid(const fs::path& file) {
    return dicom_value(file, "0008,0018");
}

std::string study_uid(const fs::path& file) {
    return dicom_value(file, "0020,000d");
}

std::vector<std::byte> bytes_of(const std::string& s) {
    std::vector<std::byte> out(s.size());
    std::memcpy(out.data(), s.data(), s.size());
    return out;
}

std::vector<fs::path> corpus_sample() {
    const auto dir = shared_dir() / "corpus" / "dicom";
    return {dir / "CT_small.dcm", dir / "MR_small_bigendian.dcm", dir / "JPGExtended.dcm",
            dir / "image_dfl.dcm", dir / "examples_ybr_color.dcm"};
}

TEST(DicomWeb, StowPlainGzipAndZstdStoreEveryPart) {
    TempDir tmp;
    Gateway gw(tmp.path() / "data");
    const auto body = multipart_body(tmp.path() / "body", corpus_sample());
    ASSERT_EQ(run("gzip -k -c '" + body.string() + "' > '" + body.string() + ".gz'").exit_code, 0);
    ASSERT_EQ(run("zstd -q '" + body.string() + "' -o '" + body.string() + ".zst'").exit_code, 0);
    for (const auto& [file, encoding] :
         std::vector<std::pair<std::string, std::string>>{{body.string(), ""},
                                                          {body.string() + ".gz", "gzip"},
                                                          {body.string() + ".zst", "zstd"}}) {
        const auto s = stow(gw, file, encoding);
        EXPECT_EQ(s.status, 200) << encoding << ": " << json::serialize(s.body);
        EXPECT_EQ(sequence_size(s.body, "00081199"), corpus_sample().size()) << encoding;
        EXPECT_EQ(sequence_size(s.body, "00081198"), 0u) << encoding;
    }
    // WADO-RS gives back what was sent: the dataset bytes of every part.
    for (const auto& f : corpus_sample()) {
        const auto res = gw.get("/api/v1/instances/" + sop_uid(f));
        ASSERT_EQ(res.status, 200) << f;
        EXPECT_TRUE(dataset_bytes(bytes_of(res.body)) == dataset_bytes(read_file(f))) << f;
    }
}

TEST(DicomWeb, BadPartIsListedAsFailedWithItsReason) {
    TempDir tmp;
    Gateway gw(tmp.path() / "data");
    auto files = corpus_sample();
    files.push_back(shared_dir() / "corpus" / "dicom-bad" / "MR_truncated.dcm");
    const auto s = stow(gw, multipart_body(tmp.path() / "body", files));
    EXPECT_EQ(s.status, 202) << json::serialize(s.body);
    ASSERT_EQ(sequence_size(s.body, "00081198"), 1u);
    const auto& failed = s.body.at("00081198").at("Value").as_array()[0];
    EXPECT_EQ(failed.at("00081197").at("Value").as_array()[0].as_int64(), 0xC000);
    EXPECT_NE(json::serialize(failed).find("cannot parse"), std::string::npos)
        << json::serialize(failed);
}

// Every raw file of dicom-bad that DCMTK cannot parse is refused with a reason, and the
// server keeps answering.
TEST(DicomWeb, UnparseableCorpusFilesAreRefusedOneByOne) {
    TempDir tmp;
    Gateway gw(tmp.path() / "data");
    int refused = 0;
    for (const auto& e : fs::directory_iterator(shared_dir() / "corpus" / "dicom-bad")) {
        if (run("dcmdump -q '" + e.path().string() + "' >/dev/null").exit_code == 0) continue;
        const auto s = stow(gw, multipart_body(tmp.path() / "one", {e.path()}));
        EXPECT_EQ(s.status, 409) << e.path() << ": " << json::serialize(s.body);
        ASSERT_EQ(sequence_size(s.body, "00081198"), 1u) << e.path();
        const auto& failed = s.body.at("00081198").at("Value").as_array()[0];
        EXPECT_TRUE(failed.as_object().contains("00000902")) << "reason for " << e.path();
        ++refused;
    }
    EXPECT_GE(refused, 5);
    EXPECT_EQ(gw.get("/healthz").status, 200);
    EXPECT_EQ(run("echoscu -aec COUNTYLINK 127.0.0.1 " + std::to_string(gw.dicom_port())).exit_code,
              0);
}

TEST(DicomWeb, StowToAStudyRefusesInstancesOfOtherStudies) {
    TempDir tmp;
    Gateway gw(tmp.path() / "data");
    const auto ct = shared_dir() / "corpus" / "dicom" / "CT_small.dcm";
    const auto mr = shared_dir() / "corpus" / "dicom" / "MR_small.dcm";
    const auto s = stow(gw, multipart_body(tmp.path() / "body", {ct, mr}), "",
                        "/dicomweb/studies/" + study_uid(ct));
    EXPECT_EQ(s.status, 202);
    EXPECT_EQ(sequence_size(s.body, "00081199"), 1u);
    EXPECT_EQ(sequence_size(s.body, "00081198"), 1u);
}

TEST(DicomWeb, QidoFindsAndWadoRetrieves) {
    TempDir tmp;
    Gateway gw(tmp.path() / "data");
    ASSERT_EQ(stow(gw, multipart_body(tmp.path() / "body", corpus_sample())).status, 200);
    const auto all = json::parse(gw.get("/dicomweb/studies").body).as_array();
    EXPECT_EQ(all.size(), corpus_sample().size());
    const auto ct = shared_dir() / "corpus" / "dicom" / "CT_small.dcm";
    const auto by_modality = json::parse(gw.get("/dicomweb/studies?Modality=CT").body).as_array();
    ASSERT_EQ(by_modality.size(), 1u);
    EXPECT_EQ(by_modality[0].at("0020000D").at("Value").as_array()[0].as_string(), study_uid(ct));
    // A date range finds exactly the sample studies dated in it (read from the files).
    std::size_t in_2004 = 0;
    for (const auto& f : corpus_sample()) {
        const auto date = run("dcmdump -q +P 0008,0020 '" + f.string() + "'").output;
        in_2004 += date.find("[2004") != std::string::npos;
    }
    ASSERT_GT(in_2004, 0u);
    EXPECT_EQ(
        json::parse(gw.get("/dicomweb/studies?StudyDate=20040101-20041231").body).as_array().size(),
        in_2004);
    EXPECT_EQ(json::parse(gw.get("/dicomweb/studies?limit=2&offset=1").body).as_array().size(), 2u);
    // What a viewer's lists show, as the file has it (IS values as JSON numbers).
    const auto first = [](const json::value& attr) { return attr.at("Value").as_array()[0]; };
    EXPECT_EQ(first(by_modality[0].at("00081030")).as_string(), dicom_value(ct, "0008,1030"));
    EXPECT_EQ(first(by_modality[0].at("00080030")).as_string(), dicom_value(ct, "0008,0030"));
    EXPECT_EQ(first(by_modality[0].at("00100040")).as_string(), dicom_value(ct, "0010,0040"));
    const std::string study = "/dicomweb/studies/" + study_uid(ct);
    const auto series = json::parse(gw.get(study + "/series").body).as_array();
    ASSERT_EQ(series.size(), 1u);
    EXPECT_EQ(first(series[0].at("00200011")).as_int64(), std::stoll(dicom_value(ct, "0020,0011")));
    const auto instances = json::parse(gw.get(study + "/instances").body).as_array();
    ASSERT_EQ(instances.size(), 1u);
    EXPECT_EQ(first(instances[0].at("00200013")).as_int64(),
              std::stoll(dicom_value(ct, "0020,0013")));

    // WADO-RS: the study as multipart, one part, the stored Part-10 file.
    const auto wado = gw.get(study);
    ASSERT_EQ(wado.status, 200);
    EXPECT_NE(wado.content_type.find("multipart/related"), std::string::npos);
    const auto start = wado.body.find("\r\n\r\n") + 4;
    const auto end = wado.body.rfind("\r\n--");
    const auto part = bytes_of(wado.body.substr(start, end - start));
    EXPECT_TRUE(dataset_bytes(part) == dataset_bytes(read_file(ct)));

    // Metadata: DICOM JSON, pixel data as a bulk data URI, not inline.
    const auto meta = gw.get(study + "/metadata");
    ASSERT_EQ(meta.status, 200);
    const auto parsed = json::parse(meta.body).as_array();
    ASSERT_EQ(parsed.size(), 1u);
    EXPECT_EQ(parsed[0].at("00080018").at("Value").as_array()[0].as_string(), sop_uid(ct));
    EXPECT_TRUE(parsed[0].at("7FE00010").as_object().contains("BulkDataURI"))
        << json::serialize(parsed[0].at("7FE00010"));
    EXPECT_EQ(gw.get("/dicomweb/studies/1.2.3.999").status, 404);
    EXPECT_EQ(gw.get("/dicomweb/studies?limit=abc").status, 400);
}

}  // namespace
}  // namespace countylink::testing

namespace countylink::testing {
namespace {

// The npm dicomweb-client (installed by scripts/setup.sh) stores, finds and fetches.
TEST(DicomWeb, NpmDicomwebClientRoundTrip) {
    TempDir tmp;
    Gateway gw(tmp.path() / "data");
    const auto script = source_dir() / "tests" / "dicomweb-client" / "dicomweb_client_test.mjs";
    ASSERT_TRUE(
        fs::exists(source_dir() / "tests" / "dicomweb-client" / "node_modules" / "dicomweb-client"))
        << "run scripts/setup.sh: it installs the npm test dependencies";
    std::string files;
    for (const auto& f : corpus_sample()) files += " '" + f.string() + "'";
    const auto r =
        run("node '" + script.string() + "' http://127.0.0.1:" + std::to_string(gw.http_port()) +
            "/dicomweb " + gw.token() + files);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find(" 0 failed"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace countylink::testing
