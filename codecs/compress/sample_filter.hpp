// A reversible pre-filter that makes 16-bit sample arrays (native pixel data, ECG waveform
// data) compress better: delta-code each sample against its channel's previous one, then
// byte-shuffle (all low bytes, then all high bytes) in fixed blocks, as Blosc does. zstd then
// sees long runs of similar bytes. Streaming, in bounded memory, and exactly undone on read.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

namespace countylink::compress {

// Where the samples lie in a byte stream.
struct SampleRange {
    uint64_t offset = 0;  // first byte of the little-endian 16-bit samples
    uint64_t length = 0;  // bytes; an odd last byte passes through unchanged
    uint16_t stride =
        0;  // delta against the sample `stride` earlier (interleaved channels); 0: none

    bool operator==(const SampleRange&) const = default;
};

// The range as a zstd skippable frame (zstd decoders step over it), written before the
// compressed frame so a reader knows how to undo the filter.
std::array<std::byte, 32> encode_filter_header(const SampleRange& range);

// The range a blob's first bytes declare; nullopt when they are not our filter header (a blob
// written without the filter).
std::optional<SampleRange> decode_filter_header(std::span<const std::byte> head);

class SampleFilter {
  public:
    enum class Direction { encode, decode };
    using Sink = std::function<void(std::span<const std::byte>)>;

    SampleFilter(SampleRange range, Direction direction);

    // Passes the next bytes of the stream through, handing output to `sink` in order; output
    // may lag input by up to one block (64 KiB).
    void feed(std::span<const std::byte> in, const Sink& sink);
    // Flushes what is held back; call once at the end of the stream.
    void finish(const Sink& sink);

  private:
    // Transforms one block (full, or the range's last) into output_ and hands it on.
    void transform(std::span<const std::byte> block, const Sink& sink);

    SampleRange range_;
    Direction direction_;
    uint64_t position_ = 0;          // stream offset of the next input byte
    uint64_t sample_index_ = 0;      // samples of the range already transformed
    std::vector<std::byte> block_;   // range bytes waiting for a full block
    std::vector<std::byte> output_;  // one transformed block
    std::vector<uint16_t> history_;  // last raw sample of each channel (ring of `stride`)
};

}  // namespace countylink::compress
