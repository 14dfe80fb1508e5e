// SCP-ECG reader: the corpus files against the same recordings in other formats (read by DCMTK's
// dcmdump and by a few lines of EDF here, not by our parsers), synthetic files from the test
// encoder for the variants the corpus lacks, and damaged files refused with exact reasons.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "codecs/ecg/read.hpp"
#include "tests/support/byte_file.hpp"
#include "tests/support/scp_writer.hpp"
#include "tests/support/shared_data.hpp"

namespace fs = std::filesystem;
namespace sw = countylink::testing::scp;
using namespace countylink::codecs::ecg;

namespace {

fs::path corpus() {
    return countylink::testing::shared_path("corpus/ecg");
}

std::vector<std::byte> slurp(const fs::path& path) {
    return countylink::testing::read_bytes(path);
}

std::string run(const std::string& command) {
    std::string out;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe) throw std::runtime_error("cannot run " + command);
    char buffer[65536];
    std::size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
    if (::pclose(pipe) != 0) throw std::runtime_error(command + " failed");
    return out;
}

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// The value between [ ] on the first dcmdump line that names `keyword`, from `from` on.
std::string dump_value(const std::string& dump, const std::string& keyword, std::size_t from = 0) {
    auto at = dump.find(" " + keyword + "\n", from);
    if (at == std::string::npos) return {};
    auto line_start = dump.rfind('\n', at) + 1;
    auto open = dump.find('[', line_start), close = dump.find(']', line_start);
    return open < at && close < at ? dump.substr(open + 1, close - open - 1) : std::string{};
}

// An ISO 8601 date/time from DICOM's DA/DT spelling.
std::string iso(const std::string& dicom) {
    // Built with append: GCC 12's -Wrestrict misfires on chains of substr + "-" at -O3.
    std::string out;
    out.append(dicom, 0, 4).append("-").append(dicom, 4, 2).append("-").append(dicom, 6, 2);
    if (dicom.size() >= 14) {
        out.append("T").append(dicom, 8, 2).append(":").append(dicom, 10, 2);
        out.append(":").append(dicom, 12, 2);
    }
    return out;
}

// A lead as the test encoder's samples in microvolts: units * AVM(nV) / 1000.
void expect_lead(const Lead& lead, const std::vector<std::int32_t>& units, double avm_nv) {
    ASSERT_EQ(lead.microvolts.size(), units.size()) << lead.name;
    for (std::size_t i = 0; i < units.size(); ++i)
        ASSERT_NEAR(lead.microvolts[i], units[i] * avm_nv / 1000.0, 1e-3)
            << lead.name << " sample " << i;
}

// One P-QRS-T complex, `t` samples into its 400-sample cycle (QRS at 150), in AVM units.
double complex_at(double t, int lead) {
    double qrs = 180.0 * std::exp(-std::pow((t - 150) / 6.0, 2)) * (lead % 3 == 0 ? -1 : 1);
    double p = 25.0 * std::exp(-std::pow((t - 80) / 15.0, 2));
    double tw = 40.0 * std::exp(-std::pow((t - 280) / 30.0, 2));
    return qrs + p + tw;
}

// A 12-lead-like synthetic signal: a complex every 400 samples on a drifting baseline with a
// per-lead offset. Integer AVM units.
std::vector<std::int32_t> synthetic(std::size_t n, int lead) {
    std::vector<std::int32_t> v(n);
    for (std::size_t i = 0; i < n; ++i) {
        double drift = 20.0 * std::sin(2 * M_PI * static_cast<double>(i) / 1700.0 + lead);
        v[i] = static_cast<std::int32_t>(
            std::lround(complex_at(static_cast<double>(i % 400), lead) + drift + lead));
    }
    return v;
}

const std::vector<std::uint8_t> kTwelve = {1, 2, 61, 62, 63, 64, 3, 4, 5, 6, 7, 8};

sw::Recording twelve_lead(std::size_t samples) {
    sw::Recording r;
    for (std::size_t i = 0; i < kTwelve.size(); ++i)
        r.leads.push_back({kTwelve[i], synthetic(samples, static_cast<int>(i)), {}});
    return r;
}

// Reference beat subtraction set-up: the beat is the bare complex (cycle samples 100..199,
// without baseline), subtracted at every complex but the second.
void add_reference_beats(sw::Recording& r, std::size_t samples) {
    r.subtract = true;
    r.reference_fiducial = 51;  // sample 150 of the cycle is sample 51 of the beat
    for (std::size_t li = 0; li < r.leads.size(); ++li) {
        auto& ref = r.leads[li].reference;
        ref.clear();
        for (int t = 100; t < 200; ++t)
            ref.push_back(
                static_cast<std::int32_t>(std::lround(complex_at(t, static_cast<int>(li)))));
    }
    for (std::uint32_t c = 0; c * 400 + 400 <= samples; ++c) {
        const std::uint32_t base = c * 400;
        r.beats.push_back({0, base + 111, base + 151, base + 190});  // 1-based samples
        r.protected_zones.push_back({base + 131, base + 170});
    }
    if (r.beats.size() > 1) r.beats[1].type = 1;  // another beat type: nothing subtracted
}

ParseResult parse(const std::vector<std::byte>& file) {
    return read_ecg(file);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Corpus

TEST(ScpCorpus, ExampleMatchesItsDicomTwinSampleForSample) {
    auto result = read_scp(slurp(corpus() / "scp/Example.scp"));
    ASSERT_TRUE(result.ok()) << result.error.reason;
    const Waveform& w = *result.waveform;
    EXPECT_EQ(w.format, Format::scp_ecg);
    // MANIFEST: 12 leads x 5000 samples at 500 Hz.
    ASSERT_EQ(w.leads.size(), 12u);
    EXPECT_DOUBLE_EQ(w.sample_rate_hz, 500.0);
    EXPECT_DOUBLE_EQ(w.duration_s(), 10.0);

    // The DICOM twin, read by DCMTK: first multiplex group (RHYTHM), interleaved, scaled by
    // each channel's sensitivity (uV) and correction factor.
    const fs::path dcm = corpus() / "dicom/Example.dcm";
    const std::string dump = run("dcmdump +L '" + dcm.string() + "'");
    const auto rhythm = dump.find("MultiplexGroupLabel");
    ASSERT_EQ(dump_value(dump, "MultiplexGroupLabel"), "RHYTHM");
    std::vector<std::string> names;
    std::vector<double> scale;
    std::size_t at = dump.find("ChannelDefinitionSequence", rhythm);
    const std::size_t data_at = dump.find("WaveformData", at);
    for (int ch = 0; ch < 12; ++ch) {
        at = dump.find("ChannelSourceSequence", at + 1);
        ASSERT_LT(at, data_at);
        names.push_back(standard_lead_name(dump_value(dump, "CodeMeaning", at)));
        scale.push_back(std::stod(dump_value(dump, "ChannelSensitivity", at)) *
                        std::stod(dump_value(dump, "ChannelSensitivityCorrectionFactor", at)));
    }
    // "(5400,1010) OW fffe\\fff9\\... # 120000, 1 WaveformData": 16-bit words in hex.
    auto line_start = dump.rfind('\n', data_at) + 1;
    std::string words = dump.substr(dump.find("OW ", line_start) + 3);
    words = words.substr(0, words.find(' '));
    std::vector<std::int16_t> samples;
    std::size_t p = 0;
    while (p < words.size()) {
        auto end = std::min(words.find('\\', p), words.size());
        samples.push_back(
            static_cast<std::int16_t>(std::stoul(words.substr(p, end - p), nullptr, 16)));
        p = end + 1;
    }
    ASSERT_EQ(samples.size(), 12u * 5000);
    for (std::size_t ch = 0; ch < 12; ++ch) {
        const Lead* lead = w.lead(names[ch]);
        ASSERT_NE(lead, nullptr) << names[ch];
        ASSERT_EQ(lead->microvolts.size(), 5000u);
        for (std::size_t i = 0; i < 5000; ++i)
            ASSERT_NEAR(lead->microvolts[i], samples[i * 12 + ch] * scale[ch], 0.01)
                << names[ch] << " sample " << i;
    }

    // Identifiers and the device's measurements agree with the DICOM twin's.
    EXPECT_EQ(w.patient_id, dump_value(dump, "PatientID"));
    EXPECT_EQ(w.patient_name, dump_value(dump, "PatientName"));
    EXPECT_EQ(w.patient_birth_date, iso(dump_value(dump, "PatientBirthDate")));
    EXPECT_EQ(w.patient_sex, dump_value(dump, "PatientSex"));
    EXPECT_EQ(w.acquisition_time, iso(dump_value(dump, "AcquisitionDateTime")));
    EXPECT_EQ(w.device_model, dump_value(dump, "ManufacturerModelName"));
    std::size_t checked = 0;
    for (std::size_t p = dump.find("NumericValue"); p != std::string::npos;
         p = dump.find("NumericValue", p + 1)) {
        // The concept name precedes its value in each annotation item.
        const std::size_t item = dump.rfind("ConceptNameCodeSequence", p);
        const std::string name = lower(dump_value(dump, "CodeMeaning", item));
        const double value = std::stod(dump_value(dump, "NumericValue", p - 40));
        for (const auto& m : w.measurements)
            if (lower(m.name) == name) {
                EXPECT_DOUBLE_EQ(m.value, value) << name;
                ++checked;
            }
    }
    EXPECT_GE(checked, 7u);  // PR, QRS, QT, QTc, P/QRS/T axes
}

// The Contec file's section 3 declares 37855 samples per lead (the MANIFEST's 47.3 s), but
// each lead's 16-bit byte count is 65534 and section 6 holds exactly 12 x 65534 bytes: the
// converter cut every lead at 32767 samples. The EDF made from the same recording has all
// 37855; its integer samples are the SCP's (its physical range, +-1000 mV over 16 bits, is a
// placeholder, so the integers are what we compare; SCP's AVM is 5000 nV, i.e. 5 uV per unit).
TEST(ScpCorpus, ContecRecordingMatchesItsEdfTwinWhereTheDataExists) {
    auto result = read_ecg(slurp(corpus() / "scp/0000050.ECG.scp"));
    ASSERT_TRUE(result.ok()) << result.error.reason;
    const Waveform& w = *result.waveform;
    ASSERT_EQ(w.leads.size(), 12u);
    EXPECT_DOUBLE_EQ(w.sample_rate_hz, 800.0);

    const auto edf = slurp(corpus() / "other/edf_0000050.ECG.edf");
    auto field = [&](std::size_t at, std::size_t len) {
        std::string s(reinterpret_cast<const char*>(edf.data()) + at, len);
        return s.substr(0, s.find_last_not_of(' ') + 1);
    };
    const int signals = std::stoi(field(252, 4));
    const int records = std::stoi(field(236, 8));
    ASSERT_EQ(signals, 12);
    ASSERT_EQ(records, 37855);  // one sample per signal per record
    const std::size_t data = 256 + 256 * static_cast<std::size_t>(signals);
    for (int s = 0; s < signals; ++s) {
        const std::string label = field(256 + 16 * static_cast<std::size_t>(s), 16);
        const Lead* lead = w.lead(label);
        ASSERT_NE(lead, nullptr) << label;
        ASSERT_EQ(lead->microvolts.size(), 32767u) << label;
        for (std::size_t i = 0; i < lead->microvolts.size(); ++i) {
            const std::size_t at = data + 2 * (i * 12 + static_cast<std::size_t>(s));
            const auto digital = static_cast<std::int16_t>(
                std::to_integer<unsigned>(edf[at]) | std::to_integer<unsigned>(edf[at + 1]) << 8);
            ASSERT_FLOAT_EQ(lead->microvolts[i], digital * 5.0f) << label << " sample " << i;
        }
    }
    EXPECT_NEAR(w.duration_s(), 32767.0 / 800, 1e-9);
}

TEST(ScpCorpus, ZeroAmplitudeMultiplierIsRefused) {
    auto result = read_ecg(slurp(corpus() / "scp/test.scp"));
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error.kind, ErrorKind::malformed);
    EXPECT_NE(result.error.reason.find("SCP section 6"), std::string::npos) << result.error.reason;
    EXPECT_NE(result.error.reason.find("amplitude value multiplier is 0 nV"), std::string::npos)
        << result.error.reason;
}

TEST(ScpCorpus, NonCompliantHealforceFileIsRecognisedAndRefused) {
    const auto bytes = slurp(corpus() / "scp/62.SCP");
    EXPECT_EQ(sniff(bytes), Format::scp_ecg);  // no "SCPECG", but an SCP section 0
    auto result = read_ecg(bytes);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error.kind, ErrorKind::malformed);
    EXPECT_NE(result.error.reason.find("declares 1928331264 bytes but the file has 32768"),
              std::string::npos)
        << result.error.reason;
}

// ---------------------------------------------------------------------------------------------
// Synthetic round trips

TEST(ScpRoundTrip, DefaultTableSecondDifferencesVersion2) {
    auto r = twelve_lead(2000);
    const auto file = sw::encode(r);
    auto result = parse(file);
    ASSERT_TRUE(result.ok()) << result.error.reason;
    const Waveform& w = *result.waveform;
    EXPECT_EQ(w.format, Format::scp_ecg);
    EXPECT_DOUBLE_EQ(w.sample_rate_hz, 500.0);
    ASSERT_EQ(w.leads.size(), 12u);
    const std::vector<std::string> names = {"I",  "II", "III", "aVR", "aVL", "aVF",
                                            "V1", "V2", "V3",  "V4",  "V5",  "V6"};
    for (std::size_t i = 0; i < 12; ++i) {
        EXPECT_EQ(w.leads[i].name, names[i]);
        expect_lead(w.leads[i], r.leads[i].samples, r.avm_nv);
    }
    EXPECT_EQ(w.patient_id, r.patient_id);
    EXPECT_EQ(w.patient_name, r.last_name + "^" + r.first_name);
    EXPECT_EQ(w.patient_birth_date, "1961-07-14");
    EXPECT_EQ(w.patient_sex, "F");
    EXPECT_EQ(w.acquisition_time, "2024-03-05T14:07:09");
    EXPECT_EQ(w.device_model, r.model);
    EXPECT_EQ(w.device_manufacturer, r.manufacturer);
    std::map<std::string, double> m;
    for (const auto& x : w.measurements) m[x.name] = x.value;
    EXPECT_EQ(m["PR interval"], 260 - 100);
    EXPECT_EQ(m["QRS duration"], 356 - 260);
    EXPECT_EQ(m["QT interval"], 650 - 260);
    EXPECT_EQ(m["QTc interval"], 421);
    EXPECT_EQ(m["Ventricular rate"], 70);
    EXPECT_EQ(m["QRS axis"], -30);
    EXPECT_EQ(m.count("T axis"), 0u);  // 29999: not computed
}

TEST(ScpRoundTrip, CustomTablesWithSwitchesFirstDifferencesVersion3) {
    auto r = twelve_lead(1600);
    r.protocol = 30;
    r.huffman = sw::Huffman::custom;
    r.custom_tables = sw::custom_tables();
    r.difference = 1;
    // Large steps too, so the 8- and 16-bit escapes are used as well as both tables.
    r.leads[0].samples[700] += 3000;
    r.leads[1].samples[900] -= 90;
    const auto file = sw::encode(r);
    auto result = parse(file);
    ASSERT_TRUE(result.ok()) << result.error.reason;
    for (std::size_t i = 0; i < r.leads.size(); ++i)
        expect_lead(result.waveform->leads[i], r.leads[i].samples, r.avm_nv);
}

TEST(ScpRoundTrip, RawVersion13WithoutMarkerAndReferenceBeatsAddedBack) {
    auto r = twelve_lead(2000);
    r.protocol = 13;
    r.scpecg_marker = false;
    r.huffman = sw::Huffman::none;
    r.difference = 0;
    r.measurements = true;
    add_reference_beats(r, 2000);
    r.write_protected_zones = false;  // as 1.0/1.1 writers did
    const auto file = sw::encode(r);
    EXPECT_EQ(sniff(file), Format::scp_ecg);
    auto result = parse(file);
    ASSERT_TRUE(result.ok()) << result.error.reason;
    for (std::size_t i = 0; i < r.leads.size(); ++i)
        expect_lead(result.waveform->leads[i], r.leads[i].samples, r.avm_nv);
    // 1.3 has no ventricular rate field; the beat measurements are still read.
    bool pr = false;
    for (const auto& m : result.waveform->measurements) pr |= m.name == "PR interval";
    EXPECT_TRUE(pr);
}

TEST(ScpRoundTrip, ReferenceBeatSubtractionWithHuffmanIsExact) {
    auto r = twelve_lead(2400);
    add_reference_beats(r, 2400);
    r.reference_avm_nv = r.avm_nv;
    const auto file = sw::encode(r);
    auto result = parse(file);
    ASSERT_TRUE(result.ok()) << result.error.reason;
    for (std::size_t i = 0; i < r.leads.size(); ++i)
        expect_lead(result.waveform->leads[i], r.leads[i].samples, r.avm_nv);

    // The same file read as if nothing had been subtracted gives the stored residual: at the
    // QRS it lacks exactly the reference beat's sample, so the add-back did real work.
    auto residual_file = file;
    const std::size_t s3 = *sw::section_offset(residual_file, 3);
    residual_file[s3 + 17] &= ~std::byte{0x01};
    sw::reseal(residual_file);
    auto residual = read_scp(residual_file);
    ASSERT_TRUE(residual.ok()) << residual.error.reason;
    const double beat = r.leads[0].reference[50] * 5.0;  // the fiducial sample
    ASSERT_GT(std::abs(beat), 500.0);
    EXPECT_NEAR(residual.waveform->leads[0].microvolts[150] + beat,
                result.waveform->leads[0].microvolts[150], 1e-3);
}

// Bimodal: protected zones (QRS) at full rate and exact, the rest stored as means of `factor`
// samples and interpolated back; the result is at the full rate and close to the original.
void bimodal_round_trip(std::size_t factor, bool subtract) {
    const std::size_t n = 2400;
    auto r = twelve_lead(n);
    if (subtract) {
        add_reference_beats(r, n);
    } else {
        for (std::uint32_t c = 0; c * 400 + 400 <= n; ++c) {
            r.beats.push_back({0, c * 400 + 111, c * 400 + 151, c * 400 + 190});
            r.protected_zones.push_back({c * 400 + 131, c * 400 + 170});
        }
        for (auto& l : r.leads) l.reference.assign(10, 0);  // section 5 gives the full rate
        r.reference_fiducial = 5;
    }
    r.bimodal_factor = factor;
    const auto file = sw::encode(r);
    auto result = parse(file);
    ASSERT_TRUE(result.ok()) << result.error.reason;
    const Waveform& w = *result.waveform;
    EXPECT_DOUBLE_EQ(w.sample_rate_hz, 500.0);  // the full rate, not 500 / factor
    for (std::size_t li = 0; li < r.leads.size(); ++li) {
        const auto& want = r.leads[li].samples;
        const auto& got = w.leads[li].microvolts;
        ASSERT_EQ(got.size(), n);
        double worst = 0;
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t s = i + 1;
            bool zone = false;
            for (const auto& z : r.protected_zones) zone |= s >= z.start && s <= z.end;
            const double err = std::abs(got[i] - want[i] * 5.0);
            if (zone)
                ASSERT_NEAR(got[i], want[i] * 5.0, 1e-3) << "lead " << li << " sample " << i;
            else
                worst = std::max(worst, err);
        }
        // Outside the QRS the signal moves at most ~6 units per sample: one factor's worth of
        // interpolation lag stays well under 15 units (75 uV), and most of it far less.
        EXPECT_LT(worst, 75.0) << "lead " << li;
    }
}

TEST(ScpRoundTrip, BimodalFactor4WithReferenceBeats) {
    bimodal_round_trip(4, true);
}

TEST(ScpRoundTrip, BimodalFactor2WithoutReferenceBeats) {
    bimodal_round_trip(2, false);
}

TEST(ScpRoundTrip, SynthesisedFilesAreSniffedAsScp) {
    for (std::uint8_t protocol : {13, 20, 30})
        for (bool marker : {true, false}) {
            auto r = twelve_lead(500);
            r.protocol = protocol;
            r.scpecg_marker = marker;
            const auto file = sw::encode(r);
            EXPECT_EQ(sniff(file), Format::scp_ecg) << int(protocol) << marker;
            auto result = read_ecg(file);
            EXPECT_TRUE(result.ok()) << result.error.reason;
        }
}

// ---------------------------------------------------------------------------------------------
// Damaged files: always a reason, never a read outside the buffer (ASan checks that part).

TEST(ScpDamage, EveryFlippedByteIsRefusedNamingTheSectionsCrc) {
    auto r = twelve_lead(800);
    add_reference_beats(r, 800);
    const auto good = sw::encode(r);
    ASSERT_TRUE(parse(good).ok());
    for (std::size_t i = 0; i < good.size(); ++i) {
        auto bad = good;
        bad[i] ^= std::byte{0x10};
        auto result = read_scp(bad);
        ASSERT_FALSE(result.ok()) << "flip at " << i;
        const std::string& why = result.error.reason;
        ASSERT_FALSE(why.empty());
        if (i < 2) {
            EXPECT_NE(why.find("file CRC mismatch"), std::string::npos) << why;
        }
        for (std::uint16_t id = 1; id <= 7; ++id) {
            auto at = sw::section_offset(good, id);
            if (!at || i < *at + 8 || i >= *at + sw::get32(good, *at + 4)) continue;
            // Past the id and length fields, damage is caught by that section's own CRC.
            EXPECT_NE(why.find("SCP section " + std::to_string(id) + " (offset " +
                               std::to_string(*at) + "): CRC mismatch"),
                      std::string::npos)
                << "flip at " << i << ": " << why;
        }
    }
}

TEST(ScpDamage, EveryTruncationIsRefused) {
    auto r = twelve_lead(200);
    const auto good = sw::encode(r);
    for (std::size_t len = 0; len < good.size(); ++len) {
        std::vector<std::byte> cut(good.begin(), good.begin() + static_cast<long>(len));
        auto result = read_scp(cut);
        ASSERT_FALSE(result.ok()) << len;
        ASSERT_EQ(result.error.kind, ErrorKind::malformed) << len;
    }
    // At a section boundary with the length field fixed to match, the pointers give it away.
    for (std::uint16_t id = 1; id <= 7; ++id) {
        auto at = sw::section_offset(good, id);
        if (!at) continue;
        std::vector<std::byte> cut(good.begin(), good.begin() + static_cast<long>(*at));
        sw::put32(cut, 2, static_cast<std::uint32_t>(cut.size()));
        sw::reseal(cut);
        auto result = read_scp(cut);
        ASSERT_FALSE(result.ok()) << id;
        EXPECT_NE(result.error.reason.find("lies outside the " + std::to_string(cut.size()) +
                                           "-byte file"),
                  std::string::npos)
            << result.error.reason;
    }
}

TEST(ScpDamage, SectionLongerThanTheFileIsRefused) {
    auto file = sw::encode(twelve_lead(200));
    const std::size_t entry = 22 + 10 * 6;  // section 6's pointer
    ASSERT_EQ(sw::get16(file, entry), 6);
    sw::put32(file, entry + 2, 0x7FFFFFF0);
    sw::reseal(file);
    auto result = read_scp(file);
    ASSERT_FALSE(result.ok());
    EXPECT_NE(result.error.reason.find("to section 6"), std::string::npos) << result.error.reason;
    EXPECT_NE(result.error.reason.find("lies outside"), std::string::npos) << result.error.reason;
}

TEST(ScpDamage, IdHeaderLengthDisagreeingWithSectionZeroIsRefused) {
    auto file = sw::encode(twelve_lead(200));
    const std::size_t at = *sw::section_offset(file, 3);
    sw::put32(file, at + 4, sw::get32(file, at + 4) - 2);
    sw::reseal(file);
    auto result = read_scp(file);
    ASSERT_FALSE(result.ok());
    EXPECT_NE(result.error.reason.find("SCP section 3 (offset " + std::to_string(at) +
                                       "): ID header gives length"),
              std::string::npos)
        << result.error.reason;
}

TEST(ScpDamage, HugeDeclaredFileLengthIsRefused) {
    auto file = sw::encode(twelve_lead(200));
    sw::put32(file, 2, 0xFFFFFFFF);
    auto result = read_scp(file);
    ASSERT_FALSE(result.ok());
    EXPECT_NE(result.error.reason.find("declares 4294967295 bytes"), std::string::npos);
}

// Section 3's lead count is one byte, so 255 is the most a file can claim.
TEST(ScpDamage, TooManyLeadsOrSamplesAreTooLarge) {
    auto file = sw::encode(twelve_lead(200));
    const std::size_t s3 = *sw::section_offset(file, 3);
    auto many = file;
    many[s3 + 16] = std::byte{255};
    sw::reseal(many);
    auto result = read_scp(many);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error.kind, ErrorKind::too_large);
    EXPECT_NE(result.error.reason.find("255 leads"), std::string::npos) << result.error.reason;

    auto longer = file;
    sw::put32(longer, s3 + 16 + 2 + 4, 1'000'000'000);  // lead 1's end sample
    sw::reseal(longer);
    result = read_scp(longer);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error.kind, ErrorKind::too_large);

    auto modest = file;  // within limits, but far beyond what the Huffman bytes can hold
    sw::put32(modest, s3 + 16 + 2 + 4, 1'000'000);
    sw::reseal(modest);
    result = read_scp(modest);
    ASSERT_FALSE(result.ok());
    EXPECT_NE(result.error.reason.find("cannot hold 1000000 samples"), std::string::npos)
        << result.error.reason;
}

TEST(ScpDamage, HuffmanStreamThatRunsOutIsRefused) {
    auto r = twelve_lead(400);
    r.drop_lead0_bytes = 40;
    auto result = read_scp(sw::encode(r));
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error.kind, ErrorKind::malformed);
    EXPECT_NE(result.error.reason.find("SCP section 6"), std::string::npos) << result.error.reason;
    EXPECT_NE(result.error.reason.find("lead 1 (I"), std::string::npos) << result.error.reason;
    EXPECT_NE(result.error.reason.find("of 400 samples"), std::string::npos) << result.error.reason;
}

TEST(ScpDamage, RawLeadShorterThanDeclaredIsRefused) {
    auto r = twelve_lead(400);
    r.huffman = sw::Huffman::none;
    r.difference = 0;
    r.drop_lead0_bytes = 10;
    auto result = read_scp(sw::encode(r));
    ASSERT_FALSE(result.ok());
    EXPECT_NE(result.error.reason.find("hold 395 of the 400 samples"), std::string::npos)
        << result.error.reason;
}

TEST(ScpDamage, SubtractionFlagWithoutSection4IsRefused) {
    auto r = twelve_lead(200);
    auto file = sw::encode(r);
    const std::size_t s3 = *sw::section_offset(file, 3);
    file[s3 + 17] |= std::byte{0x01};  // claim reference beat subtraction
    sw::reseal(file);
    auto result = read_scp(file);
    ASSERT_FALSE(result.ok());
    EXPECT_NE(result.error.reason.find("reference beats were subtracted, but section 4 is missing"),
              std::string::npos)
        << result.error.reason;
}

TEST(ScpDamage, UnknownProtocolVersionIsUnsupported) {
    auto file = sw::encode(twelve_lead(200));
    file[15] = std::byte{40};
    sw::reseal(file);
    auto result = read_scp(file);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error.kind, ErrorKind::unsupported);
    EXPECT_NE(result.error.reason.find("protocol version byte 40"), std::string::npos);
}

TEST(ScpDamage, OverlappingQrsZonesAreRefused) {
    auto r = twelve_lead(1200);
    add_reference_beats(r, 1200);
    auto file = sw::encode(r);
    // Section 4: header (6 bytes), then type(2) start(4) fiducial(4) end(4) per QRS. Make QRS 2
    // a subtracted one whose zone starts where QRS 1's ends.
    const std::size_t zones = *sw::section_offset(file, 4) + 16 + 6;
    sw::put16(file, zones + 14, 0);
    sw::put32(file, zones + 14 + 2, sw::get32(file, zones + 10));
    sw::reseal(file);
    auto result = read_scp(file);
    ASSERT_FALSE(result.ok());
    EXPECT_NE(result.error.reason.find("subtraction zone of QRS 2"), std::string::npos)
        << result.error.reason;
    EXPECT_NE(result.error.reason.find("overlaps the one before"), std::string::npos);
}

// Hostile content behind valid CRCs: random bytes changed inside sections 1..7 and the CRCs
// recomputed, so the section decoders themselves see the damage. Every outcome is a waveform
// or a reason; ASan/UBSan builds check that nothing is read outside the buffer on the way.
TEST(ScpDamage, RandomisedSectionContentNeverEscapesTheBuffer) {
    auto r = twelve_lead(800);
    r.huffman = sw::Huffman::custom;
    r.custom_tables = sw::custom_tables();
    add_reference_beats(r, 800);
    r.bimodal_factor = 2;
    const auto good = sw::encode(r);
    ASSERT_TRUE(read_scp(good).ok());
    std::vector<std::pair<std::size_t, std::size_t>> bodies;
    for (std::uint16_t id = 1; id <= 7; ++id)
        if (auto at = sw::section_offset(good, id))
            bodies.emplace_back(*at + 16, *at + sw::get32(good, *at + 4));
    std::mt19937 random(20241123);
    std::size_t refused = 0;
    for (int round = 0; round < 600; ++round) {
        auto bad = good;
        const auto& [from, to] = bodies[random() % bodies.size()];
        for (int k = 0, n = 1 + static_cast<int>(random() % 4); k < n; ++k)
            bad[from + random() % (to - from)] = std::byte(random() & 0xFF);
        sw::reseal(bad);
        auto result = read_scp(bad);
        if (!result.ok()) {
            ASSERT_FALSE(result.error.reason.empty());
            ++refused;
        }
    }
    EXPECT_GT(refused, 0u);
}
