// Reading EDF / EDF+: the corpus files give the signals, rates and durations their MANIFEST rows
// state; scaling, units and mixed rates are checked on files written here; broken and hostile
// headers are refused with a reason before anything is allocated.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "codecs/ecg/read.hpp"
#include "tests/support/byte_file.hpp"
#include "tests/support/shared_data.hpp"

namespace fs = std::filesystem;
using namespace countylink::codecs::ecg;

namespace {

std::vector<std::byte> corpus(const std::string& name) {
    return countylink::testing::read_bytes(countylink::testing::shared_path("corpus/ecg/other") /
                                           name);
}

// `text` left-aligned in a field of `width` ASCII characters.
std::string pad(const std::string& text, std::size_t width) {
    std::string out = text.substr(0, width);
    out.resize(width, ' ');
    return out;
}

struct TestSignal {
    std::string label, dimension;
    std::string physical_min, physical_max, digital_min = "-32768", digital_max = "32767";
    int per_record = 1;
    std::vector<std::int16_t> samples;  // all records, this signal only
};

// An EDF file as its specification lays it out, with the header fields given as text so that
// tests can put anything in them.
std::vector<std::byte> edf(const std::vector<TestSignal>& signals, const std::string& records,
                           const std::string& duration, const std::string& reserved = "") {
    const std::size_t ns = signals.size();
    std::string h = pad("0", 8) + pad("MCH-0234567 F 02-MAY-1951 Haagse_Harry", 80) +
                    pad("Startdate 02-MAR-2002 EMG561 BK/JOP Sony. MNC R Median Nerve", 80) +
                    "02.03.02" + "14.15.16" + pad(std::to_string(256 * (ns + 1)), 8) +
                    pad(reserved, 44) + pad(records, 8) + pad(duration, 8) +
                    pad(std::to_string(ns), 4);
    for (const auto& s : signals) h += pad(s.label, 16);
    for (std::size_t i = 0; i < ns; ++i) h += pad("AgAgCl electrode", 80);
    for (const auto& s : signals) h += pad(s.dimension, 8);
    for (const auto& s : signals) h += pad(s.physical_min, 8);
    for (const auto& s : signals) h += pad(s.physical_max, 8);
    for (const auto& s : signals) h += pad(s.digital_min, 8);
    for (const auto& s : signals) h += pad(s.digital_max, 8);
    for (std::size_t i = 0; i < ns; ++i) h += pad("HP:0.1Hz", 80);
    for (const auto& s : signals) h += pad(std::to_string(s.per_record), 8);
    for (std::size_t i = 0; i < ns; ++i) h += pad("", 32);
    std::vector<std::byte> out(h.size());
    std::memcpy(out.data(), h.data(), h.size());
    const std::size_t n_records = signals.empty() || signals[0].per_record == 0
                                      ? 0
                                      : signals[0].samples.size() / signals[0].per_record;
    for (std::size_t r = 0; r < n_records; ++r) {
        for (const auto& s : signals) {
            for (int k = 0; k < s.per_record; ++k) {
                const auto v = static_cast<std::uint16_t>(s.samples[r * s.per_record + k]);
                out.push_back(std::byte(v & 0xff));
                out.push_back(std::byte(v >> 8));
            }
        }
    }
    return out;
}

}  // namespace

TEST(EcgEdf, ContecTwelveLeadWithOneSampleRecordsOf1250Microseconds) {
    const auto bytes = corpus("edf_0000050.ECG.edf");
    const ParseResult r = read_edf(bytes);
    ASSERT_TRUE(r.ok()) << r.error.reason;
    const Waveform& w = *r.waveform;
    // MANIFEST: 12 signals [I..V6]; 37855 records x 0.00125 s; fs = 800 Hz.
    ASSERT_EQ(w.leads.size(), 12u);
    const std::vector<std::string> names = {"I",  "II", "III", "aVR", "aVL", "aVF",
                                            "V1", "V2", "V3",  "V4",  "V5",  "V6"};
    for (std::size_t i = 0; i < names.size(); ++i) EXPECT_EQ(w.leads[i].name, names[i]);
    EXPECT_DOUBLE_EQ(w.sample_rate_hz, 800.0);
    EXPECT_EQ(w.leads[0].microvolts.size(), 37855u);
    EXPECT_NEAR(w.duration_s(), 37855 * 0.00125, 1e-9);
    EXPECT_EQ(w.acquisition_time, "2020-11-16T21:44:39");
    // Header: mV, physical -1000..1000, digital -32768..32767. Sample 0 of lead I by hand:
    const auto raw = static_cast<std::int16_t>(std::to_integer<unsigned>(bytes[3328]) |
                                               std::to_integer<unsigned>(bytes[3329]) << 8);
    const double expected = (-1000.0 + (raw + 32768.0) * 2000.0 / 65535.0) * 1000.0;
    EXPECT_NEAR(w.leads[0].microvolts[0], expected, std::abs(expected) * 1e-6 + 1e-3);
}

TEST(EcgEdf, EegEdfPlusParsesAsWhatItIsOneLeadNamedFp1) {
    const ParseResult r = read_edf(corpus("edf_test_subsecond.edf"));
    ASSERT_TRUE(r.ok()) << r.error.reason;
    const Waveform& w = *r.waveform;
    // MANIFEST: EDF+C; 2 signals [Fp1, EDF Annotations]; 698 records x 1.0 s.
    ASSERT_EQ(w.leads.size(), 1u);
    EXPECT_EQ(w.leads[0].name, "Fp1");
    EXPECT_DOUBLE_EQ(w.sample_rate_hz, 128.0);  // 128 samples per 1 s record
    EXPECT_DOUBLE_EQ(w.duration_s(), 698.0);
    EXPECT_EQ(w.patient_sex, "F");
    EXPECT_EQ(w.patient_birth_date, "19980120");
    // Header "24.01.20" with the EDF+ recording field's "Startdate 24-JAN-2020".
    EXPECT_EQ(w.acquisition_time, "2020-01-24T04:05:56");
}

TEST(EcgEdf, PhysicalScalingAndUnitsGiveMicrovolts) {
    TestSignal mv{"ECG I", "mV", "-5", "5", "-2048", "2047", 2, {-2048, 2047, 0, 100}};
    TestSignal v{"II", "V", "-0.005", "0.005", "-2048", "2047", 2, {-2048, 2047, 0, 100}};
    TestSignal inverted{"V1", "uV", "5000", "-5000", "-2048", "2047", 2, {-2048, 2047, 0, 100}};
    const ParseResult r = read_edf(edf({mv, v, inverted}, "2", "0.004", "EDF+C"));
    ASSERT_TRUE(r.ok()) << r.error.reason;
    const Waveform& w = *r.waveform;
    EXPECT_DOUBLE_EQ(w.sample_rate_hz, 500.0);
    ASSERT_EQ(w.leads.size(), 3u);
    EXPECT_EQ(w.leads[0].name, "I");  // EDF+ type prefix "ECG " dropped
    EXPECT_EQ(w.leads[1].name, "II");
    const double gain = 10000.0 / 4095.0;  // uV per count
    for (std::size_t i = 0; i < 4; ++i) {
        const double want = -5000.0 + (mv.samples[i] + 2048) * gain;
        EXPECT_NEAR(w.leads[0].microvolts[i], want, 1e-3);
        EXPECT_NEAR(w.leads[1].microvolts[i], want, 1e-3);
        EXPECT_NEAR(w.leads[2].microvolts[i], -want, 1e-3);
    }
    EXPECT_EQ(w.patient_id, "MCH-0234567");
    EXPECT_EQ(w.patient_name, "Haagse Harry");
    EXPECT_EQ(w.patient_birth_date, "19510502");
    EXPECT_EQ(w.order_id, "EMG561");
    EXPECT_EQ(w.acquisition_time, "2002-03-02T14:15:16");
}

TEST(EcgEdf, MixedRatesKeepTheRateOfTheEcgLeadsAndSaySo) {
    std::vector<std::int16_t> fast(20, 7), slow(2, 1);
    TestSignal i{"I", "uV", "-32768", "32767", "-32768", "32767", 10, fast};
    TestSignal ii{"II", "uV", "-32768", "32767", "-32768", "32767", 10, fast};
    TestSignal resp{"Resp", "uV", "-32768", "32767", "-32768", "32767", 1, slow};
    TestSignal temp{"Temp", "degC", "0", "50", "-32768", "32767", 1, slow};
    const ParseResult r = read_edf(edf({resp, i, temp, ii}, "2", "0.02"));
    ASSERT_TRUE(r.ok()) << r.error.reason;
    const Waveform& w = *r.waveform;
    EXPECT_DOUBLE_EQ(w.sample_rate_hz, 500.0);
    ASSERT_EQ(w.leads.size(), 2u);
    EXPECT_EQ(w.leads[0].name, "I");
    EXPECT_EQ(w.leads[1].name, "II");
    EXPECT_EQ(w.leads[1].microvolts, std::vector<float>(20, 7.0f));
    EXPECT_TRUE(w.patient_id.empty());  // plain EDF: the patient field is free text, not read
    ASSERT_EQ(w.notes.size(), 2u);
    EXPECT_NE(w.notes[0].find("1 signal(s) at 50 Hz left out"), std::string::npos) << w.notes[0];
    EXPECT_NE(w.notes[1].find("Temp (degC)"), std::string::npos) << w.notes[1];
}

TEST(EcgEdf, TruncatedHeaderIsRefused) {
    const auto whole = corpus("edf_0000050.ECG.edf");
    for (const std::size_t keep : {std::size_t{0}, std::size_t{100}, std::size_t{255},
                                   std::size_t{256}, std::size_t{1000}, std::size_t{3327}}) {
        const std::vector<std::byte> cut(whole.begin(), whole.begin() + keep);
        const ParseResult r = read_edf(cut);
        ASSERT_FALSE(r.ok()) << keep;
        EXPECT_EQ(r.error.kind, ErrorKind::malformed) << keep;
        EXPECT_NE(r.error.reason.find("header truncated"), std::string::npos) << r.error.reason;
    }
}

TEST(EcgEdf, HugeRecordCountsAreRefusedBeforeAllocating) {
    TestSignal s{"I", "uV", "-100", "100", "-32768", "32767", 1, {1, 2, 3}};
    // The field has 8 characters: 99999999 is the most it can say in digits.
    const ParseResult most = read_edf(edf({s}, "99999999", "1"));
    ASSERT_FALSE(most.ok());
    EXPECT_EQ(most.error.kind, ErrorKind::malformed);
    EXPECT_NE(most.error.reason.find("declares 99999999 data records of 2 bytes, the file holds 6"),
              std::string::npos)
        << most.error.reason;
    const ParseResult exponent = read_edf(edf({s}, "1e9", "1"));
    ASSERT_FALSE(exponent.ok());
    EXPECT_NE(exponent.error.reason.find("number of data records \"1e9"), std::string::npos)
        << exponent.error.reason;
    // Present in full but beyond the sample limit: too large, not malformed.
    TestSignal wide{"I", "uV", "-100", "100", "-32768", "32767", 9999999, {}};
    auto bytes = edf({wide}, "4", "1");
    bytes.resize(bytes.size() + 4 * 9999999 * 2);  // the records, all zero
    const ParseResult big = read_edf(bytes);
    ASSERT_FALSE(big.ok());
    EXPECT_EQ(big.error.kind, ErrorKind::too_large) << big.error.reason;
}

TEST(EcgEdf, BrokenSignalHeadersAreRefusedWithTheField) {
    TestSignal s{"I", "uV", "-100", "100", "5", "5", 1, {1, 2}};
    const ParseResult same = read_edf(edf({s}, "2", "1"));
    ASSERT_FALSE(same.ok());
    EXPECT_NE(same.error.reason.find("digital minimum/maximum"), std::string::npos);
    s.digital_min = "-32768";
    s.physical_max = "abc";
    const ParseResult text = read_edf(edf({s}, "2", "1"));
    ASSERT_FALSE(text.ok());
    EXPECT_NE(text.error.reason.find("physical minimum/maximum"), std::string::npos);
    s.physical_max = "100";
    const ParseResult zero = read_edf(edf({s}, "2", "0"));
    ASSERT_FALSE(zero.ok());
    EXPECT_NE(zero.error.reason.find("record duration"), std::string::npos);
    auto wrong_size = edf({s}, "2", "1");
    std::memcpy(wrong_size.data() + 184, "9999    ", 8);
    const ParseResult header = read_edf(wrong_size);
    ASSERT_FALSE(header.ok());
    EXPECT_NE(header.error.reason.find("header size field"), std::string::npos);
}
