// The sample pre-filter is exactly undone whatever the range, stride, chunking and length, and
// it makes smooth 16-bit signals compress better; filtered blobs read back byte for byte.
#include "codecs/compress/sample_filter.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <random>
#include <vector>

#include "codecs/dicom/dataset_check.hpp"
#include "codecs/dicom/part10.hpp"
#include "gateway/store/blob_store.hpp"
#include "tests/support/temp_dir.hpp"

namespace countylink::compress {
namespace {

using Bytes = std::vector<std::byte>;

Bytes run(const Bytes& in, SampleRange range, SampleFilter::Direction d, std::size_t chunk) {
    SampleFilter f(range, d);
    Bytes out;
    const auto sink = [&](std::span<const std::byte> b) {
        out.insert(out.end(), b.begin(), b.end());
    };
    for (std::size_t i = 0; i < in.size(); i += chunk) {
        f.feed(std::span(in).subspan(i, std::min(chunk, in.size() - i)), sink);
    }
    f.finish(sink);
    return out;
}

// A header, then interleaved smooth channels with noise, then a trailer.
Bytes signal_object(std::size_t samples, int channels, uint32_t seed) {
    std::mt19937 rng(seed);
    Bytes out(333);
    for (auto& b : out) b = std::byte(rng() & 0xff);
    for (std::size_t i = 0; i < samples; ++i) {
        const int c = static_cast<int>(i % static_cast<std::size_t>(channels));
        const double t = static_cast<double>(i / static_cast<std::size_t>(channels));
        const auto v = static_cast<int16_t>(800 * std::sin(t / (40.0 + c)) + (rng() % 7));
        out.push_back(std::byte(static_cast<uint16_t>(v) & 0xff));
        out.push_back(std::byte(static_cast<uint16_t>(v) >> 8));
    }
    for (int i = 0; i < 77; ++i) out.push_back(std::byte(i));
    return out;
}

TEST(SampleFilter, DecodeUndoesEncodeForEveryShape) {
    const Bytes object = signal_object(200'001, 12, 7);
    const uint64_t pixels = 333, length = 400'002;
    for (const uint16_t stride : {0, 1, 12}) {
        for (const std::size_t chunk : {1'000'000, 65'536, 4'099, 1}) {
            if (chunk == 1 && stride != 12) continue;  // byte-by-byte once is enough
            for (const uint64_t len : {length, length - 1, uint64_t{1}, uint64_t{0}}) {
                const SampleRange range{pixels, len, stride};
                const Bytes encoded = run(object, range, SampleFilter::Direction::encode, chunk);
                ASSERT_EQ(encoded.size(), object.size());
                const Bytes decoded = run(encoded, range, SampleFilter::Direction::decode, chunk);
                ASSERT_EQ(decoded, object)
                    << "stride " << stride << " chunk " << chunk << " len " << len;
                if (len > 2) {
                    EXPECT_NE(encoded, object);
                }
            }
        }
    }
}

TEST(SampleFilter, RangeBeyondTheStreamEndIsHarmless) {
    const Bytes object = signal_object(1000, 1, 3);
    const SampleRange range{100, 1'000'000, 1};
    const Bytes encoded = run(object, range, SampleFilter::Direction::encode, 512);
    EXPECT_EQ(run(encoded, range, SampleFilter::Direction::decode, 300), object);
}

TEST(SampleFilter, HeaderRoundTripsAndForeignBytesAreNotAHeader) {
    const SampleRange range{123456789012ull, 987654321ull, 12};
    const auto header = encode_filter_header(range);
    EXPECT_EQ(decode_filter_header(header), range);
    Bytes zstd_frame{std::byte{0x28}, std::byte{0xB5}, std::byte{0x2F}, std::byte{0xFD}};
    zstd_frame.resize(32);
    EXPECT_FALSE(decode_filter_header(zstd_frame).has_value());
    EXPECT_FALSE(decode_filter_header(std::span(header).first(20)).has_value());
}

TEST(SampleFilter, FilteredBlobsReadBackExactlyAndSmaller) {
    testing::TempDir dir;
    store::BlobStore blobs(dir.path() / "blobs", 1);
    const Bytes object = signal_object(600'000, 12, 11);
    const auto file = dir.path() / "o.dcm";
    {
        std::ofstream out(file, std::ios::binary);
        out.write(reinterpret_cast<const char*>(object.data()), std::streamsize(object.size()));
    }
    const auto plain = blobs.put(file);
    std::filesystem::remove(blobs.path_of(plain.sha256));  // same name: store it again filtered
    const auto filtered = blobs.put(file, SampleRange{333, 1'200'000, 12});
    EXPECT_EQ(filtered.sha256, plain.sha256);  // named by the raw bytes either way
    EXPECT_LT(filtered.stored_size * 10, plain.stored_size * 9) << "at least 10% smaller";
    store::BlobReader reader = blobs.open(filtered.sha256);
    Bytes back;
    std::vector<std::byte> buffer(77'777);
    for (std::size_t n; (n = reader.read(buffer)) > 0;)
        back.insert(back.end(), buffer.begin(), buffer.begin() + long(n));
    EXPECT_EQ(back, object);
}

}  // namespace
}  // namespace countylink::compress
