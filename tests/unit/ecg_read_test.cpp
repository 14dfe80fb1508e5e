// Recognising ECG formats: every corpus file is sniffed as the format its MANIFEST names, and a
// proprietary file is refused as unknown rather than guessed.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "codecs/ecg/read.hpp"
#include "tests/support/byte_file.hpp"
#include "tests/support/shared_data.hpp"

namespace fs = std::filesystem;
using namespace countylink::codecs::ecg;
using countylink::testing::read_bytes;

namespace {

fs::path ecg_corpus() {
    return countylink::testing::shared_path("corpus/ecg");
}

}  // namespace

TEST(EcgSniff, CorpusFilesAreRecognisedAsTheirFormat) {
    const std::vector<std::pair<std::string, Format>> cases = {
        {"aecg/Example_aECG.xml", Format::hl7_aecg},
        {"aecg/minimum_aecg.xml", Format::hl7_aecg},
        {"scp/Example.scp", Format::scp_ecg},
        {"scp/0000050.ECG.scp", Format::scp_ecg},
        {"dicom/waveform_ecg.dcm", Format::dicom},
        {"dicom/wave_dfl", Format::dicom},
        {"other/sierra_129DYPRG.XML", Format::philips_sierra},
        {"other/sierra_3191723_ZZDEMOPTONLY_1-04_orig.xml", Format::philips_sierra},  // UTF-16LE
        {"other/muse_example1.xml", Format::ge_muse},
        {"other/edf_0000050.ECG.edf", Format::edf},
    };
    for (const auto& [file, format] : cases) {
        auto bytes = read_bytes(ecg_corpus() / file);
        auto got = sniff(bytes);
        ASSERT_TRUE(got.has_value()) << file;
        EXPECT_EQ(format_name(*got), format_name(format)) << file;
    }
}

TEST(EcgSniff, ProprietaryContecFileIsUnknownNotGuessed) {
    auto bytes = read_bytes(ecg_corpus() / "other/contec_0000037.ECG");
    EXPECT_FALSE(sniff(bytes).has_value());
    auto result = read_ecg(bytes);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error.kind, ErrorKind::unknown_format);
    EXPECT_NE(result.error.reason.find("not a supported ECG format"), std::string::npos);
}

TEST(EcgSniff, ContentTypeNamesTheFormat) {
    std::vector<std::byte> junk(300, std::byte{'x'});
    EXPECT_EQ(sniff(junk, "application/dicom"), Format::dicom);
    EXPECT_EQ(sniff(junk, "application/x-scp-ecg; charset=binary"), Format::scp_ecg);
    EXPECT_FALSE(sniff(junk, "application/octet-stream").has_value());
}

TEST(EcgModel, LeadNamesAreStandardised) {
    EXPECT_EQ(standard_lead_name("MDC_ECG_LEAD_AVR"), "aVR");
    EXPECT_EQ(standard_lead_name("I (Einthoven)"), "I");
    EXPECT_EQ(standard_lead_name(" v3 "), "V3");
    EXPECT_EQ(standard_lead_name("DII"), "II");
    EXPECT_EQ(standard_lead_name("V3R"), "V3R");
}

TEST(EcgModel, LimbLeadsDerivedFromIAndII) {
    Waveform w;
    w.sample_rate_hz = 500;
    w.leads.push_back({"I", {100, 200}});
    w.leads.push_back({"II", {300, -100}});
    derive_limb_leads(w);
    ASSERT_EQ(w.leads.size(), 6u);
    EXPECT_FLOAT_EQ(w.lead("III")->microvolts[0], 200);
    EXPECT_FLOAT_EQ(w.lead("aVR")->microvolts[0], -200);
    EXPECT_FLOAT_EQ(w.lead("aVL")->microvolts[1], 250);
    EXPECT_FLOAT_EQ(w.lead("aVF")->microvolts[1], -200);
    EXPECT_DOUBLE_EQ(w.duration_s(), 2.0 / 500);
}
