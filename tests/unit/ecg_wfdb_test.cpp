// Reading WFDB records: the shared quality set value for value, hand-made format 212/80 and
// multi-file records, and broken headers and signal files refused with a reason, never read
// outside the file.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "codecs/ecg/read.hpp"
#include "tests/support/shared_data.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace countylink::codecs::ecg;
using countylink::testing::TempDir;

namespace {

fs::path quality_set() {
    const auto dir = countylink::testing::shared_path("ecg-quality/set-a");
    if (!fs::is_directory(dir))
        throw std::runtime_error("missing " + dir.string() + ": is ../shared there?");
    return dir;
}

void write_text(const fs::path& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

void write_bytes(const fs::path& path, const std::vector<unsigned char>& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
}

std::vector<unsigned char> int16_le(const std::vector<int>& values) {
    std::vector<unsigned char> out;
    for (int v : values) {
        const auto u = static_cast<std::uint16_t>(static_cast<std::int16_t>(v));
        out.push_back(static_cast<unsigned char>(u & 0xFF));
        out.push_back(static_cast<unsigned char>(u >> 8));
    }
    return out;
}

// A valid two-signal format-16 record in `dir`: 4 frames, I = 1,2,3,4 and II = -1,-2,-3,-4 adu.
void write_small_record(const fs::path& dir, const std::string& header_tail = "") {
    write_text(dir / "r.hea",
               "r 2 250 4\n"
               "r.dat 16 100/mV 16 0 1 10 0 I\n"
               "r.dat 16 100/mV 16 0 -1 -10 0 II\n" +
                   header_tail);
    write_bytes(dir / "r.dat", int16_le({1, -1, 2, -2, 3, -3, 4, -4}));
}

std::string refusal(const fs::path& header) {
    const auto r = read_wfdb(header);
    EXPECT_FALSE(r.ok());
    return r.ok() ? "" : r.error.reason;
}

}  // namespace

TEST(EcgWfdb, SharedRecordMatchesTheRawSamples) {
    const auto dir = quality_set();
    const auto r = read_wfdb(dir / "1005639.hea");
    ASSERT_TRUE(r.ok()) << r.error.reason;
    const auto& w = *r.waveform;
    EXPECT_EQ(format_name(w.format), "wfdb");
    EXPECT_DOUBLE_EQ(w.sample_rate_hz, 500);
    EXPECT_DOUBLE_EQ(w.duration_s(), 10.0);
    const std::vector<std::string> names = {"I",  "II", "III", "aVR", "aVF", "aVL",
                                            "V1", "V2", "V3",  "V4",  "V5",  "V6"};
    ASSERT_EQ(w.leads.size(), names.size());
    for (std::size_t i = 0; i < names.size(); ++i) EXPECT_EQ(w.leads[i].name, names[i]);

    // The .dat read independently: int16 LE, interleaved, 200 adu/mV -> 5 µV per adu.
    std::ifstream in(dir / "1005639.dat", std::ios::binary);
    std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_EQ(raw.size(), 5000u * 12 * 2);
    for (std::size_t t = 0; t < 5000; t += 97) {
        for (std::size_t l = 0; l < 12; ++l) {
            const std::size_t at = 2 * (t * 12 + l);
            const auto adu =
                static_cast<std::int16_t>(static_cast<unsigned char>(raw[at]) |
                                          (static_cast<unsigned char>(raw[at + 1]) << 8));
            EXPECT_FLOAT_EQ(w.leads[l].microvolts[t], adu * 5.0f) << "lead " << l << " t " << t;
        }
    }
    // Einthoven holds on the read values (within the file's rounding of 2 adu).
    for (std::size_t t = 0; t < 5000; t += 13)
        EXPECT_NEAR(w.leads[2].microvolts[t], w.leads[1].microvolts[t] - w.leads[0].microvolts[t],
                    10.0);
}

TEST(EcgWfdb, EveryRecordOfTheQualitySetReads) {
    std::size_t n = 0;
    for (const auto& e : fs::directory_iterator(quality_set())) {
        if (e.path().extension() != ".hea") continue;
        const auto r = read_wfdb(e.path());
        ASSERT_TRUE(r.ok()) << e.path() << ": " << r.error.reason;
        ASSERT_EQ(r.waveform->leads.size(), 12u);
        ++n;
    }
    EXPECT_EQ(n, 698u);
}

TEST(EcgWfdb, Format212WithBaselineUnitsAndChecksum) {
    TempDir tmp;
    // Two signals in one file, 3 frames: a = 100, -5, 2047; b = -2047, 7, 0 (12-bit two's
    // complement; -2048 is the invalid-sample marker).
    // Stream order a0 b0 a1 b1 a2 b2; each pair (x, y) packs as x&FF, (x>>8 & 0xF) | (y>>8 &
    // 0xF)<<4, y&FF.
    const std::vector<int> stream = {100, -2047, -5, 7, 2047, 0};
    std::vector<unsigned char> bytes;
    for (std::size_t i = 0; i < stream.size(); i += 2) {
        const unsigned x = static_cast<unsigned>(stream[i]) & 0xFFF;
        const unsigned y = static_cast<unsigned>(stream[i + 1]) & 0xFFF;
        bytes.push_back(static_cast<unsigned char>(x & 0xFF));
        bytes.push_back(static_cast<unsigned char>(((x >> 8) & 0xF) | (((y >> 8) & 0xF) << 4)));
        bytes.push_back(static_cast<unsigned char>(y & 0xFF));
    }
    write_bytes(tmp.path() / "s.dat", bytes);
    // a: gain 10 adu/mV, baseline 100 -> µV = (adu - 100) * 100. b: 2 adu/uV, zero 7.
    // Checksums: a 100 - 5 + 2047 = 2142; b -2047 + 7 + 0 = -2040.
    write_text(tmp.path() / "s.hea",
               "# a comment line\n"
               "s 2 1000 3 12:30:05 24/11/2026\n"
               "s.dat 212 10(100)/mV 12 0 100 2142 0 Lead II\n"
               "s.dat 212 2/uV 12 7 -2047 -2040 0 MDC_ECG_LEAD_V2\n");
    const auto r = read_wfdb(tmp.path() / "s.hea");
    ASSERT_TRUE(r.ok()) << r.error.reason;
    const auto& w = *r.waveform;
    EXPECT_EQ(w.acquisition_time, "2026-11-24T12:30:05");
    ASSERT_EQ(w.leads.size(), 2u);
    EXPECT_EQ(w.leads[0].name, "II");
    EXPECT_EQ(w.leads[1].name, "V2");
    EXPECT_EQ(w.leads[0].microvolts, (std::vector<float>{0.0f, -10500.0f, 194700.0f}));
    EXPECT_EQ(w.leads[1].microvolts, (std::vector<float>{-1027.0f, 0.0f, -3.5f}));
}

TEST(EcgWfdb, Format80AndSignalsInTwoFiles) {
    TempDir tmp;
    write_bytes(tmp.path() / "a.dat", {128, 130, 126, 255});  // offset binary: 0, 2, -2, 127
    write_bytes(tmp.path() / "b.dat", int16_le({5, 6, 7, 8}));
    write_text(tmp.path() / "m.hea",
               "m 2 100\n"  // no sample count: taken from the files
               "a.dat 80 1/mV 8 0 0 127 0 V1\n"
               "b.dat 16 1000/mV 16 0 5 26 0 V2\n");
    const auto r = read_wfdb(tmp.path() / "m.hea");
    ASSERT_TRUE(r.ok()) << r.error.reason;
    EXPECT_EQ(r.waveform->leads[0].microvolts, (std::vector<float>{0, 2000, -2000, 127000}));
    EXPECT_EQ(r.waveform->leads[1].microvolts, (std::vector<float>{5, 6, 7, 8}));
}

TEST(EcgWfdb, ValidSmallRecordReads) {
    TempDir tmp;
    write_small_record(tmp.path());
    const auto r = read_wfdb(tmp.path() / "r.hea");
    ASSERT_TRUE(r.ok()) << r.error.reason;
    EXPECT_EQ(r.waveform->leads[1].microvolts, (std::vector<float>{-10, -20, -30, -40}));
}

TEST(EcgWfdb, TruncatedSignalFileIsRefused) {
    TempDir tmp;
    write_small_record(tmp.path());
    fs::resize_file(tmp.path() / "r.dat", 15);  // one byte short of 4 frames of 2 int16
    const auto reason = refusal(tmp.path() / "r.hea");
    EXPECT_NE(reason.find("truncated"), std::string::npos) << reason;
    EXPECT_NE(reason.find("16"), std::string::npos) << reason;
}

TEST(EcgWfdb, ChecksumMismatchIsRefused) {
    TempDir tmp;
    write_small_record(tmp.path());
    write_bytes(tmp.path() / "r.dat", int16_le({1, -1, 2, -2, 3, -3, 4, -5}));
    const auto reason = refusal(tmp.path() / "r.hea");
    EXPECT_NE(reason.find("checksum"), std::string::npos) << reason;
    EXPECT_NE(reason.find("II"), std::string::npos) << reason;
}

TEST(EcgWfdb, HugeDeclaredCountsAreTooLargeBeforeReading) {
    TempDir tmp;
    write_small_record(tmp.path());
    write_text(tmp.path() / "big.hea",
               "big 2 500 4000000000\nr.dat 16 200 16 0 0 0 0 I\nr.dat 16 200 16 0 0 0 0 II\n");
    auto r = read_wfdb(tmp.path() / "big.hea");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error.kind, ErrorKind::too_large);
    write_text(tmp.path() / "many.hea", "many 100000 500 10\n");
    r = read_wfdb(tmp.path() / "many.hea");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error.kind, ErrorKind::too_large);
    // Within each limit, beyond the product: 20 signals x 2,000,000 samples.
    std::string h = "prod 20 500 2000000\n";
    for (int i = 0; i < 20; ++i) h += "r.dat 16 200 16 0 0 0 0 V1\n";
    write_text(tmp.path() / "prod.hea", h);
    r = read_wfdb(tmp.path() / "prod.hea");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error.kind, ErrorKind::too_large);
}

TEST(EcgWfdb, BadHeadersAreRefusedWithTheLine) {
    TempDir tmp;
    write_small_record(tmp.path());
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"", "no record line"},
        {"r two 250 4\n", "signal count"},
        {"r 0 250 4\n", "no signals"},
        {"r 2 -250 4\n", "sampling frequency"},
        {"r 2 250 four\n", "sample count"},
        {"r 2 250 4\nr.dat 16 100/mV 16 0 1 10 0 I\n", "2 signals but has 1"},
        {"r 2 250 4\nr.dat 16 abc/mV\nr.dat 16\n", "line 2: bad gain"},
        {"r 2 250 4\nr.dat 16 100/mmHg\nr.dat 16\n", "not a voltage"},
        {"r 2 250 4\nr.dat 311\nr.dat 311\n", "format 311"},
        {"r 2 250 4\n../r.dat 16\n../r.dat 16\n", "not a plain file name"},
        {"r 2 250 4\nr.dat 16 100/mV 16 0 1 ten 0 I\nr.dat 16\n", "bad checksum"},
        {"r 2 250 4\nr.dat 16\nr.dat 212\n", "disagree on format"},
        {"r 1 250 4\nnope.dat 16\n", "nope.dat missing"},
        {"r/2 2 250 4\n", "multi-segment"},
    };
    for (const auto& [header, expect] : cases) {
        write_text(tmp.path() / "bad.hea", header);
        const auto reason = refusal(tmp.path() / "bad.hea");
        EXPECT_NE(reason.find(expect), std::string::npos) << "header:\n"
                                                          << header << "reason: " << reason;
    }
    EXPECT_FALSE(read_wfdb(tmp.path() / "absent.hea").ok());
}

TEST(EcgWfdb, InvalidSampleMarkerHoldsTheLastValue) {
    TempDir tmp;
    write_bytes(tmp.path() / "g.dat", int16_le({10, -32768, 30}));
    write_text(tmp.path() / "g.hea", "g 1 250 3\ng.dat 16 1/uV 16 0 10 -32728 0 V3\n");
    const auto r = read_wfdb(tmp.path() / "g.hea");
    ASSERT_TRUE(r.ok()) << r.error.reason;
    EXPECT_EQ(r.waveform->leads[0].microvolts, (std::vector<float>{10, 10, 30}));
}
