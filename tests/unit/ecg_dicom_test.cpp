// Reading DICOM waveform ECGs: the corpus files give the leads, rates and durations their MANIFEST
// rows state and the amplitudes DCMTK reads from the raw WaveformData; synthetic ECGs give back
// the counts synth wrote; broken and hostile objects are refused with a reason.
#include <gtest/gtest.h>

#include <dcmtk/config/osconfig.h>  // must precede the other DCMTK headers

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcitem.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmdata/dcvrul.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "codecs/ecg/read.hpp"
#include "ecg.hpp"  // tools/synth
#include "options.hpp"
#include "random.hpp"
#include "run.hpp"
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
    const fs::path path = countylink::testing::shared_path("corpus/ecg/dicom") / name;
    if (!fs::exists(path))
        throw std::runtime_error("missing corpus file " + path.string() + ": is ../shared there?");
    return path;
}

// Both entry points must agree; returns the in-memory result after checking that.
ParseResult read_both(const fs::path& path) {
    const ParseResult from_file = read_dicom_ecg_file(path);
    const ParseResult from_bytes = read_dicom_ecg(read_bytes(path));
    EXPECT_EQ(from_file.ok(), from_bytes.ok()) << path;
    if (from_file.ok() && from_bytes.ok()) {
        EXPECT_EQ(from_file.waveform->leads.size(), from_bytes.waveform->leads.size());
        for (std::size_t i = 0; i < from_file.waveform->leads.size(); ++i) {
            EXPECT_EQ(from_file.waveform->leads[i].microvolts,
                      from_bytes.waveform->leads[i].microvolts);
        }
    } else {
        EXPECT_EQ(from_file.error.reason, from_bytes.error.reason);
    }
    return from_bytes;
}

const std::vector<std::string> kTwelve = {"I",  "II", "III", "aVR", "aVL", "aVF",
                                          "V1", "V2", "V3",  "V4",  "V5",  "V6"};

std::vector<std::string> lead_names(const Waveform& w) {
    std::vector<std::string> names;
    for (const auto& l : w.leads) names.push_back(l.name);
    return names;
}

// The raw signed 16-bit samples of multiplex group `group` as DCMTK reads them.
std::vector<Sint16> raw_group(const fs::path& path, unsigned long group) {
    DcmFileFormat file;
    if (file.loadFile(path.c_str()).bad()) throw std::runtime_error("DCMTK cannot load");
    DcmItem* item = nullptr;
    if (file.getDataset()->findAndGetSequenceItem(DCM_WaveformSequence, item, group).bad())
        throw std::runtime_error("no group");
    const Uint16* words = nullptr;
    unsigned long count = 0;
    if (item->findAndGetUint16Array(DCM_WaveformData, words, &count).bad())
        throw std::runtime_error("no WaveformData");
    std::vector<Sint16> out(count);
    for (unsigned long i = 0; i < count; ++i) out[i] = static_cast<Sint16>(words[i]);
    return out;
}

void expect_samples(const Waveform& w, const std::vector<Sint16>& raw, double uv_per_count) {
    const std::size_t channels = w.leads.size();
    ASSERT_EQ(raw.size(), channels * w.leads[0].microvolts.size());
    for (std::size_t c = 0; c < channels; ++c) {
        for (std::size_t s = 0; s < w.leads[c].microvolts.size(); s += 7) {
            ASSERT_NEAR(w.leads[c].microvolts[s], raw[s * channels + c] * uv_per_count, 1e-3)
                << w.leads[c].name << " sample " << s;
        }
    }
}

const Measurement* measurement(const Waveform& w, const std::string& name) {
    for (const auto& m : w.measurements)
        if (m.name == name) return &m;
    return nullptr;
}

// Loads a corpus file, lets `edit` change its rhythm group, writes it (explicit VR LE) to `out`.
template <typename Edit>
fs::path edited(const std::string& name, const fs::path& out, Edit edit) {
    DcmFileFormat file;
    if (file.loadFile(corpus(name).c_str()).bad()) throw std::runtime_error("DCMTK cannot load");
    DcmItem* group = nullptr;
    if (file.getDataset()->findAndGetSequenceItem(DCM_WaveformSequence, group, 0).bad())
        throw std::runtime_error("no group");
    edit(*file.getDataset(), *group);
    if (file.saveFile(out.c_str(), EXS_LittleEndianExplicit).bad())
        throw std::runtime_error("cannot save");
    return out;
}

}  // namespace

// Every file in corpus/ecg/dicom against its MANIFEST row ("wave grp1: 12 ch x 10000 samples @
// 1000 Hz (RHYTHM; ...)"): the rhythm group, or the first that is not a median beat.
TEST(EcgDicom, EveryCorpusFileMatchesItsManifestRow) {
    const fs::path shared = countylink::testing::shared_path("corpus");
    std::ifstream manifest(shared / "MANIFEST.md");
    ASSERT_TRUE(manifest) << "missing " << shared / "MANIFEST.md";
    std::map<std::string, std::string> rows;
    for (std::string line; std::getline(manifest, line);) {
        const std::string prefix = "| `ecg/dicom/";
        if (line.starts_with(prefix))
            rows[line.substr(prefix.size(), line.find('`', prefix.size()) - prefix.size())] = line;
    }
    const std::regex group(R"(wave grp\d+: (\d+) ch x (\d+) samples @ ([0-9.]+) Hz \(([^;)]*))");
    std::size_t files = 0;
    for (const auto& entry : fs::directory_iterator(shared / "ecg" / "dicom")) {
        const std::string name = entry.path().filename().string();
        ASSERT_TRUE(rows.count(name)) << name << " has no MANIFEST row";
        std::smatch m, want;
        for (auto it = rows[name].cbegin(); std::regex_search(it, rows[name].cend(), m, group);
             it = m.suffix().first) {
            const bool median = m[4].str().find("MEDIAN") != std::string::npos;
            if (m[4] == "RHYTHM" || (want.empty() && !median)) want = m;
            if (m[4] == "RHYTHM") break;
        }
        ASSERT_FALSE(want.empty()) << name;
        const ParseResult r = read_both(entry.path());
        ASSERT_TRUE(r.ok()) << name << ": " << r.error.reason;
        EXPECT_EQ(r.waveform->leads.size(), std::stoul(want[1])) << name;
        EXPECT_DOUBLE_EQ(r.waveform->sample_rate_hz, std::stod(want[3])) << name;
        EXPECT_DOUBLE_EQ(r.waveform->duration_s(), std::stod(want[2]) / std::stod(want[3])) << name;
        ++files;
    }
    EXPECT_EQ(files, 3u);  // MANIFEST summary: ecg/dicom/ holds 3 files
}

TEST(EcgDicom, MortaraTwelveLeadReadsTheRhythmGroupNotTheMedianBeats) {
    const fs::path path = corpus("waveform_ecg.dcm");
    const ParseResult r = read_both(path);
    ASSERT_TRUE(r.ok()) << r.error.reason;
    const Waveform& w = *r.waveform;
    // MANIFEST: grp1 12 ch x 10000 samples @ 1000 Hz (RHYTHM), grp2 1200 samples (MEDIAN BEAT).
    EXPECT_EQ(lead_names(w), kTwelve);
    EXPECT_DOUBLE_EQ(w.sample_rate_hz, 1000.0);
    EXPECT_DOUBLE_EQ(w.duration_s(), 10.0);
    expect_samples(w, raw_group(path, 0), 1.25);  // ChannelSensitivity 1.25 uV
    EXPECT_EQ(w.patient_id, "642341");
    EXPECT_EQ(w.patient_name, "Anonymous");
    EXPECT_EQ(w.patient_birth_date, "19710123");
    EXPECT_EQ(w.patient_sex, "F");
    EXPECT_EQ(w.order_id, "03028041970546");
    EXPECT_EQ(w.acquisition_time, "2013-01-25T10:59:19");
    EXPECT_EQ(w.device_manufacturer, "Mortara Instrument, Inc.");
    EXPECT_EQ(w.device_model, "el250");
    const Measurement* pr = measurement(w, "PR Interval");
    ASSERT_NE(pr, nullptr);
    EXPECT_DOUBLE_EQ(pr->value, 161);
    EXPECT_EQ(pr->unit, "ms");
    const Measurement* qrs = measurement(w, "QRS Duration");
    ASSERT_NE(qrs, nullptr);
    EXPECT_DOUBLE_EQ(qrs->value, 75);
    EXPECT_EQ(measurement(w, "RITMO SINUSALE"), nullptr);  // text, not a measurement
}

TEST(EcgDicom, ImplicitVrToolkitFileReadsTwelveLeadsAt500Hz) {
    const fs::path path = corpus("Example.dcm");
    const ParseResult r = read_both(path);
    ASSERT_TRUE(r.ok()) << r.error.reason;
    // MANIFEST: grp1 12 ch x 5000 samples @ 500 Hz (RHYTHM); grp2 600 samples (MEDIAN BEAT).
    EXPECT_EQ(lead_names(*r.waveform), kTwelve);
    EXPECT_DOUBLE_EQ(r.waveform->sample_rate_hz, 500.0);
    EXPECT_DOUBLE_EQ(r.waveform->duration_s(), 10.0);
    expect_samples(*r.waveform, raw_group(path, 0), 2.5);
    EXPECT_EQ(r.waveform->patient_id, "SBJ-123");
    EXPECT_EQ(r.waveform->device_model, "ELI250");
}

TEST(EcgDicom, DeflatedHemodynamicFileWithEcgLeadsInMillivolts) {
    const fs::path path = corpus("wave_dfl");
    const ParseResult r = read_both(path);
    ASSERT_TRUE(r.ok()) << r.error.reason;
    // MANIFEST: 12 ch x 2400 samples @ 240 Hz, Deflated Explicit VR LE, Hemodynamic SOP class.
    EXPECT_EQ(lead_names(*r.waveform), kTwelve);
    EXPECT_DOUBLE_EQ(r.waveform->sample_rate_hz, 240.0);
    EXPECT_DOUBLE_EQ(r.waveform->duration_s(), 10.0);
    expect_samples(*r.waveform, raw_group(path, 0), 0.00122 * 1000);  // 0.00122 mV per count
    EXPECT_EQ(r.waveform->patient_id, "123-654");
    EXPECT_EQ(r.waveform->order_id, "0001");
    EXPECT_EQ(r.waveform->acquisition_time, "1999-12-23T10:07:09");
    const Measurement* rate = measurement(*r.waveform, "Heart rate (I)");
    ASSERT_NE(rate, nullptr);  // annotation references group 1 channel 1
    EXPECT_DOUBLE_EQ(rate->value, 69);
    EXPECT_EQ(rate->unit, "{H.B.}/min");
}

TEST(EcgDicom, SynthEcgGivesBackTheCountsSynthWrote) {
    TempDir dir;
    countylink::synth::Rng rng(42);
    const auto trace = countylink::synth::synthesize_ecg(500, 10.0, 72.0, rng);
    DcmFileFormat file;
    DcmDataset& ds = *file.getDataset();
    ds.putAndInsertString(DCM_SOPClassUID, UID_TwelveLeadECGWaveformStorage);
    ds.putAndInsertString(DCM_SOPInstanceUID, "1.2.826.0.1.3680043.10.1234.99.1");
    ds.putAndInsertString(DCM_PatientID, "TWP-1");
    countylink::synth::put_ecg_waveform(ds, trace, "20260102030405");
    const fs::path path = dir.path() / "synth.dcm";
    ASSERT_TRUE(file.saveFile(path.c_str(), EXS_LittleEndianExplicit).good());

    const ParseResult r = read_both(path);
    ASSERT_TRUE(r.ok()) << r.error.reason;
    const Waveform& w = *r.waveform;
    ASSERT_EQ(w.leads.size(), countylink::synth::kEcgLeads.size());
    EXPECT_DOUBLE_EQ(w.sample_rate_hz, 500.0);
    EXPECT_EQ(w.acquisition_time, "2026-01-02T03:04:05");
    for (std::size_t k = 0; k < w.leads.size(); ++k) {
        EXPECT_EQ(w.leads[k].name, countylink::synth::kEcgLeads[k]);
        ASSERT_EQ(w.leads[k].microvolts.size(), trace.samples);
        for (std::uint32_t s = 0; s < trace.samples; ++s) {
            ASSERT_EQ(
                w.leads[k].microvolts[s],
                static_cast<float>(trace.at(s, k) * countylink::synth::kEcgMicrovoltsPerCount))
                << w.leads[k].name << " sample " << s;
        }
    }
}

TEST(EcgDicom, CountylinkSynthFilesParseInBothTransferSyntaxes) {
    TempDir dir;
    for (const auto syntax :
         {countylink::synth::Syntax::explicit_le, countylink::synth::Syntax::implicit_le}) {
        countylink::synth::Options options;
        options.out_dir =
            dir.path() / (syntax == countylink::synth::Syntax::implicit_le ? "i" : "e");
        options.kind = countylink::synth::Kind::ecg;
        options.seed = 7;
        options.sample_rate = 1000;
        options.syntax = syntax;
        std::ostringstream progress;
        countylink::synth::run(options, progress);
        const ParseResult r = read_both(options.out_dir / "ecg-000001.dcm");
        ASSERT_TRUE(r.ok()) << r.error.reason;
        EXPECT_EQ(lead_names(*r.waveform), kTwelve);
        EXPECT_DOUBLE_EQ(r.waveform->sample_rate_hz, 1000.0);
        EXPECT_DOUBLE_EQ(r.waveform->duration_s(), 10.0);
        EXPECT_FALSE(r.waveform->patient_id.empty());
    }
}

TEST(EcgDicom, CorrectionFactorBaselineAndSkewAreApplied) {
    TempDir dir;
    const fs::path path =
        edited("Example.dcm", dir.path() / "calibrated.dcm", [](DcmDataset&, DcmItem& group) {
            DcmItem* lead_i = nullptr;
            DcmItem* v1 = nullptr;
            ASSERT_TRUE(
                group.findAndGetSequenceItem(DCM_ChannelDefinitionSequence, lead_i, 0).good());
            ASSERT_TRUE(group.findAndGetSequenceItem(DCM_ChannelDefinitionSequence, v1, 6).good());
            lead_i->putAndInsertString(DCM_ChannelSensitivityCorrectionFactor, "2");
            lead_i->putAndInsertString(DCM_ChannelBaseline, "10");
            v1->putAndInsertString(DCM_ChannelSampleSkew, "3");
        });
    const ParseResult plain = read_dicom_ecg_file(corpus("Example.dcm"));
    const ParseResult r = read_both(path);
    ASSERT_TRUE(plain.ok() && r.ok()) << r.error.reason;
    const auto& before = plain.waveform->leads;
    const auto& after = r.waveform->leads;
    const auto raw = raw_group(corpus("Example.dcm"), 0);
    for (std::size_t s = 0; s < 5000; s += 13) {
        // PS3.3: value = sample x sensitivity x correction + baseline (in the sensitivity units)
        ASSERT_FLOAT_EQ(after[0].microvolts[s], raw[s * 12] * 2.5f * 2 + 10) << s;
    }
    ASSERT_EQ(after[6].name, "V1");
    ASSERT_EQ(after[6].microvolts.size(), 5000u);
    for (std::size_t s = 0; s < 3; ++s) EXPECT_EQ(after[6].microvolts[s], before[6].microvolts[0]);
    for (std::size_t s = 3; s < 5000; ++s)
        ASSERT_EQ(after[6].microvolts[s], before[6].microvolts[s - 3]) << s;
    const auto& notes = r.waveform->notes;
    EXPECT_NE(std::find(notes.begin(), notes.end(), "V1 shifted by its skew of 3 samples"),
              notes.end());
}

TEST(EcgDicom, Latin1NamesComeOutAsUtf8) {
    TempDir dir;
    const fs::path path =
        edited("waveform_ecg.dcm", dir.path() / "latin1.dcm", [](DcmDataset& ds, DcmItem&) {
            ds.putAndInsertString(DCM_SpecificCharacterSet, "ISO_IR 100");
            ds.putAndInsertString(DCM_PatientName, "M\xfcller^J\xfcrgen");  // Latin-1 bytes
        });
    const ParseResult r = read_both(path);
    ASSERT_TRUE(r.ok()) << r.error.reason;
    EXPECT_EQ(r.waveform->patient_name, "M\xc3\xbcller^J\xc3\xbcrgen");
}

// --- refused ------------------------------------------------------------------------------------

TEST(EcgDicom, WaveformDataShorterThanDeclaredIsMalformed) {
    TempDir dir;
    const fs::path path =
        edited("waveform_ecg.dcm", dir.path() / "short.dcm", [](DcmDataset&, DcmItem& group) {
            group.putAndInsertUint32(DCM_NumberOfWaveformSamples, 10001);
        });
    const ParseResult r = read_both(path);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error.kind, ErrorKind::malformed);
    EXPECT_NE(r.error.reason.find("WaveformData holds 240000 bytes, declared 12 channels x 10001"),
              std::string::npos)
        << r.error.reason;
}

TEST(EcgDicom, AMillionChannelsAreRefusedBeforeAllocating) {
    TempDir dir;
    // US cannot say 10^6: a hostile writer sends the count as UL, which is read and bounded too.
    const fs::path path =
        edited("waveform_ecg.dcm", dir.path() / "million.dcm", [](DcmDataset&, DcmItem& group) {
            group.findAndDeleteElement(DCM_NumberOfWaveformChannels);
            auto count =
                std::make_unique<DcmUnsignedLong>(DcmTag(DCM_NumberOfWaveformChannels, EVR_UL));
            count->putUint32(1000000);
            ASSERT_TRUE(group.insert(count.release()).good());
        });
    const ParseResult r = read_both(path);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error.kind, ErrorKind::too_large);
    EXPECT_NE(r.error.reason.find("1000000 channels declared"), std::string::npos)
        << r.error.reason;

    const fs::path most =
        edited("waveform_ecg.dcm", dir.path() / "65535.dcm", [](DcmDataset&, DcmItem& group) {
            group.putAndInsertUint16(DCM_NumberOfWaveformChannels, 65535);
        });
    const ParseResult r2 = read_both(most);
    ASSERT_FALSE(r2.ok());
    EXPECT_EQ(r2.error.kind, ErrorKind::too_large);
}

TEST(EcgDicom, DeflatedObjectDeclaringTooManySamplesIsTooLarge) {
    TempDir dir;
    // 12 x 3,000,000 samples: over the limit; 72 MB of zeros deflate to a small file.
    constexpr Uint32 kSamples = 3000000;
    DcmFileFormat file;
    if (file.loadFile(corpus("waveform_ecg.dcm").c_str()).bad()) FAIL() << "DCMTK cannot load";
    DcmItem* group = nullptr;
    ASSERT_TRUE(file.getDataset()->findAndGetSequenceItem(DCM_WaveformSequence, group, 0).good());
    group->putAndInsertUint32(DCM_NumberOfWaveformSamples, kSamples);
    {
        const std::vector<Uint16> zeros(std::size_t{12} * kSamples, 0);
        ASSERT_TRUE(group
                        ->putAndInsertUint16Array(DCM_WaveformData, zeros.data(),
                                                  static_cast<unsigned long>(zeros.size()))
                        .good());
    }
    const fs::path path = dir.path() / "bomb.dcm";
    ASSERT_TRUE(file.saveFile(path.c_str(), EXS_DeflatedLittleEndianExplicit).good());
    EXPECT_LT(fs::file_size(path), 2u << 20);
    const ParseResult r = read_both(path);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error.kind, ErrorKind::too_large);
    EXPECT_NE(r.error.reason.find("3000000 samples declared"), std::string::npos) << r.error.reason;
}

TEST(EcgDicom, TwelveBitsAllocatedIsUnsupportedWithTheReason) {
    TempDir dir;
    const fs::path path =
        edited("Example.dcm", dir.path() / "bits12.dcm", [](DcmDataset&, DcmItem& group) {
            group.putAndInsertUint16(DCM_WaveformBitsAllocated, 12);
        });
    const ParseResult r = read_both(path);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error.kind, ErrorKind::unsupported);
    EXPECT_NE(r.error.reason.find("WaveformBitsAllocated 12"), std::string::npos) << r.error.reason;
}

TEST(EcgDicom, MuLawSamplesAreUnsupportedWithTheReason) {
    TempDir dir;
    const fs::path path =
        edited("Example.dcm", dir.path() / "mulaw.dcm", [](DcmDataset&, DcmItem& group) {
            group.putAndInsertUint16(DCM_WaveformBitsAllocated, 8);
            group.putAndInsertString(DCM_WaveformSampleInterpretation, "MB");
        });
    const ParseResult r = read_both(path);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error.kind, ErrorKind::unsupported);
    EXPECT_NE(r.error.reason.find("mu-law"), std::string::npos) << r.error.reason;
}

TEST(EcgDicom, OnlyAMedianBeatGroupIsNotTakenForRhythm) {
    TempDir dir;
    const fs::path path =
        edited("waveform_ecg.dcm", dir.path() / "median.dcm", [](DcmDataset& ds, DcmItem&) {
            DcmSequenceOfItems* seq = nullptr;
            ASSERT_TRUE(ds.findAndGetSequence(DCM_WaveformSequence, seq).good());
            delete seq->remove(0UL);  // DCMTK hands ownership back
        });
    const ParseResult r = read_both(path);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error.kind, ErrorKind::unsupported);
    EXPECT_NE(r.error.reason.find("median"), std::string::npos) << r.error.reason;
}

TEST(EcgDicom, PressureChannelsOfAHemodynamicObjectAreLeftOut) {
    TempDir dir;
    const fs::path path =
        edited("wave_dfl", dir.path() / "pressure.dcm", [](DcmDataset&, DcmItem& group) {
            DcmItem* def = nullptr;
            ASSERT_TRUE(group.findAndGetSequenceItem(DCM_ChannelDefinitionSequence, def, 0).good());
            DcmItem* unit = nullptr;
            ASSERT_TRUE(
                def->findAndGetSequenceItem(DCM_ChannelSensitivityUnitsSequence, unit, 0).good());
            unit->putAndInsertString(DCM_CodeValue, "mm[Hg]");
        });
    const ParseResult r = read_both(path);
    ASSERT_TRUE(r.ok()) << r.error.reason;
    ASSERT_EQ(r.waveform->leads.size(), 11u);
    EXPECT_EQ(r.waveform->leads[0].name, "II");
}

TEST(EcgDicom, TruncatedFilesAreRefusedNotReadPastTheEnd) {
    TempDir dir;
    const auto whole = read_bytes(corpus("waveform_ecg.dcm"));
    for (const std::size_t keep :
         {std::size_t{100}, std::size_t{2000}, whole.size() / 2, whole.size() - 10}) {
        const std::vector<std::byte> cut(whole.begin(), whole.begin() + keep);
        const ParseResult r = read_dicom_ecg(cut);
        EXPECT_FALSE(r.ok()) << keep;
        EXPECT_FALSE(r.error.reason.empty());
        const fs::path path = write_bytes(dir.path() / ("cut" + std::to_string(keep)), cut);
        EXPECT_FALSE(read_dicom_ecg_file(path).ok()) << keep;
    }
}

TEST(EcgDicom, AnImageIsNotAnEcg) {
    const fs::path ct = countylink::testing::shared_path("corpus/dicom/CT-MONO2-16-ankle");
    ASSERT_TRUE(fs::exists(ct)) << ct;
    const ParseResult r = read_dicom_ecg_file(ct);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error.kind, ErrorKind::unsupported);
    EXPECT_NE(r.error.reason.find("not an ECG waveform"), std::string::npos) << r.error.reason;
}
