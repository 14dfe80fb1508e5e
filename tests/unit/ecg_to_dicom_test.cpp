// Converting the waveform model to DICOM ECG objects: what comes back through our DICOM reader
// is the same within one quantum (exactly when the source had a grid), dicom3tools' dciodvfy
// finds no errors in the object, and the same input gives the same bytes and UIDs.
#include <gtest/gtest.h>

#include <dcmtk/config/osconfig.h>  // must precede the other DCMTK headers

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcitem.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numbers>
#include <sstream>
#include <string>
#include <vector>

#include "codecs/ecg/read.hpp"
#include "codecs/ecg/to_dicom.hpp"
#include "tests/support/byte_file.hpp"
#include "tests/support/shared_data.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace countylink::codecs::ecg;
using countylink::testing::read_bytes;
using countylink::testing::TempDir;
using countylink::testing::write_bytes;

namespace {

fs::path corpus(const std::string& name) {
    return countylink::testing::shared_path("corpus/ecg") / name;
}

struct Verdict {
    int errors = 0, warnings = 0;
    std::string output;
};

// dciodvfy (dicom3tools) on a file: its Error and Warning lines. A missing dciodvfy fails.
Verdict dciodvfy(const fs::path& file) {
    Verdict v;
    const std::string command = "dciodvfy -new '" + file.string() + "' 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) throw std::runtime_error("cannot run dciodvfy");
    std::array<char, 4096> line{};
    while (std::fgets(line.data(), line.size(), pipe) != nullptr) {
        const std::string l = line.data();
        v.output += l;
        if (l.starts_with("Error")) ++v.errors;
        if (l.starts_with("Warning")) ++v.warnings;
    }
    const int status = pclose(pipe);
    if (v.output.find("not found") != std::string::npos || WEXITSTATUS(status) == 127)
        throw std::runtime_error("dciodvfy is missing: apt-get install dicom3tools");
    return v;
}

// Channel Sensitivity of each channel of the first multiplex group, as DCMTK reads it.
std::vector<double> sensitivities(const fs::path& file) {
    DcmFileFormat ff;
    if (ff.loadFile(file.c_str()).bad()) throw std::runtime_error("DCMTK cannot load");
    DcmItem* group = nullptr;
    ff.getDataset()->findAndGetSequenceItem(DCM_WaveformSequence, group, 0);
    std::vector<double> out;
    for (unsigned long c = 0;; ++c) {
        DcmItem* def = nullptr;
        if (group->findAndGetSequenceItem(DCM_ChannelDefinitionSequence, def, c).bad()) break;
        Float64 s = 0;
        def->findAndGetFloat64(DCM_ChannelSensitivity, s);
        out.push_back(s);
    }
    return out;
}

std::string element(const fs::path& file, const DcmTagKey& key) {
    DcmFileFormat ff;
    if (ff.loadFile(file.c_str()).bad()) throw std::runtime_error("DCMTK cannot load");
    OFString v;
    ff.getDataset()->findAndGetOFStringArray(key, v);
    return v.c_str();
}

// A plausible recording with arbitrary float amplitudes (no grid) and some large excursions.
Waveform synthetic(const std::vector<std::string>& leads, double rate, double seconds) {
    Waveform w;
    w.format = Format::hl7_aecg;
    w.sample_rate_hz = rate;
    w.acquisition_time = "2026-03-04T05:06:07";
    w.patient_id = "TWP-77";
    w.patient_name = "Doe^Jane";
    w.patient_birth_date = "1961-02-03";
    w.patient_sex = "F";
    w.order_id = "ACC123";
    w.device_manufacturer = "Example Medical";
    w.device_model = "Cart 9";
    w.measurements.push_back({"QTc", 412, "ms"});
    w.measurements.push_back({"Ventricular rate", 71, "/min"});
    const auto n = static_cast<std::size_t>(std::lround(rate * seconds));
    for (std::size_t k = 0; k < leads.size(); ++k) {
        Lead lead{leads[k], std::vector<float>(n)};
        for (std::size_t s = 0; s < n; ++s) {
            const double t = static_cast<double>(s) / rate;
            lead.microvolts[s] = static_cast<float>(
                (900.0 + 37.3 * static_cast<double>(k)) *
                    std::sin(2 * std::numbers::pi * 1.2 * t + 0.3 * static_cast<double>(k)) +
                41.7 * std::cos(2 * std::numbers::pi * 17.0 * t) +
                0.123 * static_cast<double>(s % 7));
        }
        w.leads.push_back(std::move(lead));
    }
    return w;
}

DicomEcgOptions options() {
    DicomEcgOptions o;
    o.uid_seed = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    o.institution_name = "Township Clinic North";
    o.station_name = "TWP-N";
    return o;
}

// Converts, checks dciodvfy, reads back, and checks every sample against one quantum.
Waveform round_trip(const Waveform& w, const std::string& want_class, const fs::path& dir) {
    const DicomEcgResult r = to_dicom_ecg(w, options());
    EXPECT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.sop_class_uid, want_class);
    const fs::path file = write_bytes(dir / "converted.dcm", r.bytes);
    const Verdict v = dciodvfy(file);
    EXPECT_EQ(v.errors, 0) << v.output;
    std::cout << "dciodvfy on " << r.iod << ": " << v.errors << " errors, " << v.warnings
              << " warnings\n"
              << v.output;
    EXPECT_EQ(element(file, DCM_Modality), "ECG");
    EXPECT_EQ(element(file, DCM_SOPClassUID), want_class);

    const ParseResult back = read_dicom_ecg(r.bytes);
    EXPECT_TRUE(back.ok()) << back.error.reason;
    if (!back.ok()) return {};
    const auto quanta = sensitivities(file);
    EXPECT_EQ(back.waveform->leads.size(), w.leads.size());
    EXPECT_EQ(quanta.size(), w.leads.size());
    for (std::size_t k = 0; k < w.leads.size() && k < quanta.size(); ++k) {
        const auto& a = w.leads[k].microvolts;
        const auto& b = back.waveform->leads[k].microvolts;
        EXPECT_EQ(back.waveform->leads[k].name, w.leads[k].name);
        EXPECT_EQ(a.size(), b.size());
        double worst = 0;
        for (std::size_t s = 0; s < a.size() && s < b.size(); ++s)
            worst = std::max(worst, std::fabs(static_cast<double>(a[s]) - b[s]));
        EXPECT_LE(worst, quanta[k]) << w.leads[k].name;
    }
    EXPECT_DOUBLE_EQ(back.waveform->sample_rate_hz, w.sample_rate_hz);
    return *back.waveform;
}

const std::vector<std::string> kTwelve = {"I",  "II", "III", "aVR", "aVL", "aVF",
                                          "V1", "V2", "V3",  "V4",  "V5",  "V6"};

}  // namespace

TEST(EcgToDicom, TwelveLeadsTenSecondsAt500HzRoundTripWithinOneQuantum) {
    TempDir dir;
    const Waveform w = synthetic(kTwelve, 500, 10);
    const Waveform back = round_trip(w, "1.2.840.10008.5.1.4.1.1.9.1.1", dir.path());
    EXPECT_EQ(back.patient_id, "TWP-77");
    EXPECT_EQ(back.patient_name, "Doe^Jane");
    EXPECT_EQ(back.patient_birth_date, "19610203");
    EXPECT_EQ(back.patient_sex, "F");
    EXPECT_EQ(back.order_id, "ACC123");
    EXPECT_EQ(back.acquisition_time, "2026-03-04T05:06:07");
    EXPECT_EQ(back.device_manufacturer, "Example Medical");
    ASSERT_EQ(back.measurements.size(), 2u);
    EXPECT_EQ(back.measurements[0].name, "QTc");
    EXPECT_DOUBLE_EQ(back.measurements[0].value, 412);
    EXPECT_EQ(back.measurements[1].unit, "/min");
}

TEST(EcgToDicom, ThreeLeadsThirtySecondsAreAGeneralEcg) {
    TempDir dir;
    const Waveform w = synthetic({"I", "II", "V3R"}, 250, 30);
    round_trip(w, "1.2.840.10008.5.1.4.1.1.9.1.2", dir.path());
}

TEST(EcgToDicom, SlowSingleChannelIsAnAmbulatoryEcg) {
    TempDir dir;
    const ParseResult eeg = read_edf(read_bytes(corpus("other/edf_test_subsecond.edf")));
    ASSERT_TRUE(eeg.ok()) << eeg.error.reason;  // 1 lead Fp1 at 128 Hz, 698 s
    round_trip(*eeg.waveform, "1.2.840.10008.5.1.4.1.1.9.1.3", dir.path());
}

TEST(EcgToDicom, RealEdfTwelveLeadOf47SecondsIsAGeneralEcg) {
    TempDir dir;
    const ParseResult edf = read_edf(read_bytes(corpus("other/edf_0000050.ECG.edf")));
    ASSERT_TRUE(edf.ok()) << edf.error.reason;
    round_trip(*edf.waveform, "1.2.840.10008.5.1.4.1.1.9.1.2", dir.path());
}

TEST(EcgToDicom, DicomCorpusFileComesBackSampleForSample) {
    TempDir dir;
    const ParseResult source = read_dicom_ecg(read_bytes(corpus("dicom/waveform_ecg.dcm")));
    ASSERT_TRUE(source.ok()) << source.error.reason;
    const Waveform back = round_trip(*source.waveform, "1.2.840.10008.5.1.4.1.1.9.1.1", dir.path());
    // Its samples lie on a 1.25 uV grid: the conversion finds it and is lossless.
    ASSERT_EQ(back.leads.size(), 12u);
    for (std::size_t k = 0; k < 12; ++k)
        EXPECT_EQ(back.leads[k].microvolts, source.waveform->leads[k].microvolts) << k;
}

// What an upload in any format becomes: a valid DICOM ECG with the same samples (12-lead
// when the IOD allows it; the 100 Hz file is below the 12-lead and General ECG minimum of 200).
TEST(EcgToDicom, EveryUploadFormatConvertsToAValidObjectWithTheSameSamples) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"aecg/Example_aECG.xml", "1.2.840.10008.5.1.4.1.1.9.1.1"},
        {"aecg/hl7aecg_example.xml", "1.2.840.10008.5.1.4.1.1.9.1.3"},
        {"other/sierra_3191723_ZZDEMOPTONLY_1-04_orig.xml", "1.2.840.10008.5.1.4.1.1.9.1.1"},
        {"other/muse_example3.xml", "1.2.840.10008.5.1.4.1.1.9.1.1"},
        {"scp/Example.scp", "1.2.840.10008.5.1.4.1.1.9.1.1"}};
    for (const auto& [file, sop_class] : cases) {
        SCOPED_TRACE(file);
        TempDir dir;
        ParseResult source = read_ecg(read_bytes(corpus(file)));
        ASSERT_TRUE(source.ok()) << source.error.reason;
        // De-identified MUSE files carry no acquisition time; uploads fall back to arrival time.
        if (source.waveform->acquisition_time.empty())
            source.waveform->acquisition_time = "2026-11-23T08:00:00";
        round_trip(*source.waveform, sop_class, dir.path());
    }
}

TEST(EcgToDicom, SameInputSameBytesAndUidsFromTheSeed) {
    const Waveform w = synthetic(kTwelve, 500, 2);
    const DicomEcgResult a = to_dicom_ecg(w, options());
    const DicomEcgResult b = to_dicom_ecg(w, options());
    ASSERT_TRUE(a.ok()) << a.error;
    EXPECT_EQ(a.bytes, b.bytes);
    EXPECT_EQ(a.sop_instance_uid, derived_uid(options().uid_seed, "instance"));
    EXPECT_TRUE(a.sop_instance_uid.starts_with("2.25."));
    EXPECT_LE(a.sop_instance_uid.size(), 64u);
    EXPECT_NE(a.study_instance_uid, a.series_instance_uid);
    EXPECT_NE(a.series_instance_uid, a.sop_instance_uid);
    // 2.25 UIDs are the decimal form of 128 bits: no leading zero, at most 39 digits.
    const std::string digits = a.sop_instance_uid.substr(5);
    EXPECT_NE(digits.front(), '0');
    EXPECT_LE(digits.size(), 39u);
    EXPECT_EQ(digits.find_first_not_of("0123456789"), std::string::npos);

    DicomEcgOptions other = options();
    other.uid_seed = "another upload";
    EXPECT_NE(to_dicom_ecg(w, other).sop_instance_uid, a.sop_instance_uid);
    other.sop_instance_uid = "1.2.826.0.1.3680043.10.1234.5.6";
    EXPECT_EQ(to_dicom_ecg(w, other).sop_instance_uid, "1.2.826.0.1.3680043.10.1234.5.6");
}

TEST(EcgToDicom, WaveformsNoEcgObjectCanHoldAreRefusedWithTheReason) {
    Waveform fast = synthetic({"I"}, 2000, 1);
    const DicomEcgResult r = to_dicom_ecg(fast, options());
    EXPECT_FALSE(r.ok());
    EXPECT_TRUE(r.bytes.empty());
    EXPECT_NE(r.error.find("2000 Hz fit no DICOM ECG object"), std::string::npos) << r.error;

    Waveform undated = synthetic({"I"}, 500, 1);
    undated.acquisition_time.clear();
    EXPECT_NE(to_dicom_ecg(undated, options()).error.find("no acquisition time"),
              std::string::npos);
    DicomEcgOptions with_fallback = options();
    with_fallback.fallback_time = "2026-11-23T07:00:00";
    EXPECT_TRUE(to_dicom_ecg(undated, with_fallback).ok());

    DicomEcgOptions no_seed = options();
    no_seed.uid_seed.clear();
    EXPECT_NE(to_dicom_ecg(synthetic({"I"}, 500, 1), no_seed).error.find("uid_seed"),
              std::string::npos);
}

TEST(EcgToDicom, LongAccessionNumbersAreLeftOutNotCut) {
    Waveform w = synthetic(kTwelve, 500, 1);
    w.order_id = "ORDER-2026-000000123456";
    const DicomEcgResult r = to_dicom_ecg(w, options());
    ASSERT_TRUE(r.ok()) << r.error;
    const ParseResult back = read_dicom_ecg(r.bytes);
    ASSERT_TRUE(back.ok()) << back.error.reason;
    EXPECT_EQ(back.waveform->order_id, "");
    ASSERT_EQ(r.notes.size(), 1u);
    EXPECT_NE(r.notes[0].find("Accession Number"), std::string::npos);
}
