// Text in the index is UTF-8 whatever the equipment sent: a GB18030 name stored with storescu,
// declared or not, comes back from QIDO-RS as proper UTF-8 JSON, and the object as sent.
#include <dcmtk/config/osconfig.h>  // must precede the other DCMTK headers

#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <gtest/gtest.h>

#include <array>
#include <boost/json.hpp>
#include <string>
#include <tuple>
#include <vector>

#include "tests/integration/harness.hpp"

namespace countylink::testing {
namespace {

namespace json = boost::json;

const std::string kZhangSanGb18030 = "\xD5\xC5\xC8\xFD";  // 张三

// A 4x4 Secondary Capture image of patient `name` (张三) in GB18030 bytes, with `charset` as
// (0008,0005) (absent when empty); `n` makes its UIDs unique.
fs::path gb18030_file(const fs::path& dir, const std::string& charset,
                      const std::string& patient_id, int n,
                      const std::string& name = kZhangSanGb18030) {
    const std::string root = "1.2.826.0.1.3680043.2.1125.77." + std::to_string(n);
    DcmFileFormat file;
    DcmDataset& ds = *file.getDataset();
    if (!charset.empty()) ds.putAndInsertString(DCM_SpecificCharacterSet, charset.c_str());
    ds.putAndInsertString(DCM_SOPClassUID, UID_SecondaryCaptureImageStorage);
    ds.putAndInsertString(DCM_SOPInstanceUID, (root + ".1").c_str());
    ds.putAndInsertString(DCM_StudyInstanceUID, (root + ".2").c_str());
    ds.putAndInsertString(DCM_SeriesInstanceUID, (root + ".3").c_str());
    ds.putAndInsertString(DCM_PatientID, patient_id.c_str());
    ds.putAndInsertOFStringArray(DCM_PatientName, name.c_str());
    ds.putAndInsertString(DCM_Modality, "OT");
    ds.putAndInsertString(DCM_StudyDate, "20250301");
    ds.putAndInsertString(DCM_ConversionType, "WSD");
    ds.putAndInsertUint16(DCM_Rows, 4);
    ds.putAndInsertUint16(DCM_Columns, 4);
    ds.putAndInsertUint16(DCM_SamplesPerPixel, 1);
    ds.putAndInsertString(DCM_PhotometricInterpretation, "MONOCHROME2");
    ds.putAndInsertUint16(DCM_BitsAllocated, 8);
    ds.putAndInsertUint16(DCM_BitsStored, 8);
    ds.putAndInsertUint16(DCM_HighBit, 7);
    ds.putAndInsertUint16(DCM_PixelRepresentation, 0);
    const std::array<Uint8, 16> pixels{};
    ds.putAndInsertUint8Array(DCM_PixelData, pixels.data(), pixels.size());
    const fs::path path = dir / (patient_id + ".dcm");
    const OFCondition saved = file.saveFile(path.c_str(), EXS_LittleEndianExplicit);
    EXPECT_TRUE(saved.good()) << saved.text();
    return path;
}

TEST(CharacterSet, Gb18030NamesReachQidoAsUtf8) {
    TempDir tmp;
    Gateway gw(tmp.path() / "data");
    const std::string gw_args = " -aec COUNTYLINK 127.0.0.1 " + std::to_string(gw.dicom_port());
    // Declared, and sent by an older console that declares nothing: both a plain success (a
    // guessed character set is only a notice in the index flags).
    for (const auto& [charset, patient_id, n] :
         {std::tuple{std::string("GB18030"), std::string("CL-GB-DECLARED"), 1},
          std::tuple{std::string(), std::string("CL-GB-UNDECLARED"), 2}}) {
        SCOPED_TRACE(patient_id);
        const fs::path file = gb18030_file(tmp.path(), charset, patient_id, n);
        const auto sent = run("storescu -v" + gw_args + " '" + file.string() + "'");
        ASSERT_EQ(sent.exit_code, 0) << sent.output;
        EXPECT_NE(sent.output.find("Received Store Response (Success)"), std::string::npos)
            << sent.output;

        const auto found = gw.get("/dicomweb/studies?PatientID=" + patient_id);
        ASSERT_EQ(found.status, 200) << found.body;
        // boost::json refuses invalid UTF-8, so parsing is itself the check.
        json::error_code ec;
        const json::value body = json::parse(found.body, ec);
        ASSERT_FALSE(ec) << ec.message();
        const auto& studies = body.as_array();
        ASSERT_EQ(studies.size(), 1u) << found.body;
        const auto& name = studies[0].at("00100010").at("Value").as_array()[0];
        EXPECT_EQ(name.at("Alphabetic").as_string(), "张三") << found.body;
        EXPECT_FALSE(name.as_object().contains("Ideographic")) << found.body;

        // Only the index copy is converted: the object keeps the bytes it was sent with.
        const auto back = gw.get("/api/v1/instances/" + dicom_value(file, "0008,0018"));
        ASSERT_EQ(back.status, 200);
        const std::vector<std::byte> back_bytes(
            reinterpret_cast<const std::byte*>(back.body.data()),
            reinterpret_cast<const std::byte*>(back.body.data()) + back.body.size());
        EXPECT_TRUE(dataset_bytes(back_bytes) == dataset_bytes(read_file(file)));
    }
}

// A name with ideographic and phonetic groups: one JSON member each (PS3.18 F.2.2).
TEST(CharacterSet, PersonNameGroupsAreSeparateJsonMembers) {
    TempDir tmp;
    Gateway gw(tmp.path() / "data");
    const fs::path file = gb18030_file(tmp.path(), "GB18030", "CL-GB-GROUPS", 3,
                                       "Zhang^San=" + kZhangSanGb18030 + "=zhang^san");
    const auto sent = run("storescu -aec COUNTYLINK 127.0.0.1 " + std::to_string(gw.dicom_port()) +
                          " '" + file.string() + "'");
    ASSERT_EQ(sent.exit_code, 0) << sent.output;
    const auto found = gw.get("/dicomweb/studies?PatientID=CL-GB-GROUPS");
    const auto studies = json::parse(found.body).as_array();
    ASSERT_EQ(studies.size(), 1u) << found.body;
    const auto& name = studies[0].at("00100010").at("Value").as_array()[0];
    EXPECT_EQ(name.at("Alphabetic").as_string(), "Zhang^San") << found.body;
    EXPECT_EQ(name.at("Ideographic").as_string(), "张三") << found.body;
    EXPECT_EQ(name.at("Phonetic").as_string(), "zhang^san") << found.body;
}

}  // namespace
}  // namespace countylink::testing
