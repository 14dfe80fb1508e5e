// zstd framing and the sample pre-filter, each way, with /dev/null or the page cache as the file:
// the compressor's CPU cost per object, without the disk.
#include <fcntl.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include <memory>
#include <stdexcept>

#include "codecs/compress/sample_filter.hpp"
#include "codecs/compress/zstd_stream.hpp"
#include "codecs/io/file.hpp"
#include "config/config.hpp"
#include "tests/bench/benchmarks.hpp"

namespace countylink::bench {
namespace {

using compress::SampleFilter;

constexpr std::size_t kChunk = 1 << 20;  // the blob store's read size

// One object into one zstd frame, pre-filtered when `filtered`; returns the frame's size.
// The context is kept across iterations, as the blob store keeps one per worker.
uint64_t compress_object(int fd, const BenchObject& object, compress::ZstdContext& context,
                         bool filtered) {
    compress::ZstdWriter zstd(fd, context, object.bytes.size());
    if (!filtered) {
        zstd.write(object.bytes);
        return zstd.finish();
    }
    SampleFilter filter(*object.samples, SampleFilter::Direction::encode);
    const auto sink = [&zstd](std::span<const std::byte> b) { zstd.write(b); };
    filter.feed(object.bytes, sink);
    filter.finish(sink);
    return zstd.finish();
}

void zstd_compress(benchmark::State& state, const BenchObject& object, int level, bool filtered) {
    const io::UniqueFd null = io::open_file("/dev/null", O_WRONLY);
    uint64_t stored = 0;
    compress::ZstdContext context(level);
    for (auto _ : state) stored = compress_object(null.get(), object, context, filtered);
    count_items(state, object.bytes.size());
    state.counters["ratio"] =
        static_cast<double>(stored) / static_cast<double>(object.bytes.size());
}

// Inflates the (filtered) frame from a file in the page cache; the filter is not undone here.
void zstd_decompress(benchmark::State& state, const BenchObject& object,
                     const std::filesystem::path& dir) {
    const auto path = dir / ("frame-" + object.kind + ".zst");
    const io::UniqueFd fd = io::open_file(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    compress::ZstdContext context(config::Config{}.storage.zstd_level);
    compress_object(fd.get(), object, context, true);
    const auto out = std::make_unique_for_overwrite<std::byte[]>(kChunk);
    for (auto _ : state) {
        if (::lseek(fd.get(), 0, SEEK_SET) != 0) throw std::runtime_error("lseek failed");
        compress::ZstdReader reader(fd.get());
        if (read_all(reader, {out.get(), kChunk}) != object.bytes.size()) {
            state.SkipWithError("inflated size differs from the object's");
            break;
        }
    }
    count_items(state, object.bytes.size());
}

void sample_filter(benchmark::State& state, const BenchObject& object,
                   SampleFilter::Direction direction) {
    std::size_t out = 0;
    const auto sink = [&out](std::span<const std::byte> b) {
        benchmark::DoNotOptimize(b.data());
        out += b.size();
    };
    for (auto _ : state) {
        SampleFilter filter(*object.samples, direction);
        filter.feed(object.bytes, sink);
        filter.finish(sink);
    }
    if (out != state.iterations() * object.bytes.size()) {
        state.SkipWithError("the filter changed the object's size");
    }
    count_items(state, object.bytes.size());
}

}  // namespace

void register_compress_benchmarks(const Inputs& inputs) {
    const int level = config::Config{}.storage.zstd_level;
    const auto dir = inputs.directory("frames");
    for (const auto& object : inputs.objects()) {
        const std::string& kind = object.kind;
        add("zstd/compress/" + kind + "/level:" + std::to_string(level),
            [&object, level](benchmark::State& s) { zstd_compress(s, object, level, false); });
        for (const int l : {1, level}) {
            add("zstd/compress_filtered/" + kind + "/level:" + std::to_string(l),
                [&object, l](benchmark::State& s) { zstd_compress(s, object, l, true); });
        }
        add("zstd/decompress_filtered/" + kind,
            [&object, dir](benchmark::State& s) { zstd_decompress(s, object, dir); });
        add("sample_filter/encode/" + kind, [&object](benchmark::State& s) {
            sample_filter(s, object, SampleFilter::Direction::encode);
        });
        add("sample_filter/decode/" + kind, [&object](benchmark::State& s) {
            sample_filter(s, object, SampleFilter::Direction::decode);
        });
    }
}

}  // namespace countylink::bench
