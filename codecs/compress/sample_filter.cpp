#include "codecs/compress/sample_filter.hpp"

#include <algorithm>
#include <cstring>

namespace countylink::compress {
namespace {

constexpr std::size_t kBlock = 64 * 1024;  // even: only a range's last block can be odd
constexpr uint32_t kSkippableMagic = 0x184D2A5C;
constexpr uint32_t kPayload = 24;
constexpr std::array<char, 4> kTag{'C', 'L', 'S', 'F'};
constexpr uint8_t kVersion = 1;

void put_le(std::byte* out, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out[i] = static_cast<std::byte>((v >> (8 * i)) & 0xff);
}

uint64_t get_le(const std::byte* in, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(in[i]) << (8 * i);
    return v;
}

}  // namespace

std::array<std::byte, 32> encode_filter_header(const SampleRange& range) {
    std::array<std::byte, 32> h{};
    put_le(h.data(), kSkippableMagic, 4);
    put_le(h.data() + 4, kPayload, 4);
    std::memcpy(h.data() + 8, kTag.data(), kTag.size());
    h[12] = static_cast<std::byte>(kVersion);
    put_le(h.data() + 14, range.stride, 2);
    put_le(h.data() + 16, range.offset, 8);
    put_le(h.data() + 24, range.length, 8);
    return h;
}

std::optional<SampleRange> decode_filter_header(std::span<const std::byte> head) {
    if (head.size() < 32 || get_le(head.data(), 4) != kSkippableMagic ||
        get_le(head.data() + 4, 4) != kPayload ||
        std::memcmp(head.data() + 8, kTag.data(), kTag.size()) != 0 ||
        head[12] != static_cast<std::byte>(kVersion)) {
        return std::nullopt;
    }
    SampleRange r;
    r.stride = static_cast<uint16_t>(get_le(head.data() + 14, 2));
    r.offset = get_le(head.data() + 16, 8);
    r.length = get_le(head.data() + 24, 8);
    return r;
}

SampleFilter::SampleFilter(SampleRange range, Direction direction)
    : range_(range), direction_(direction), history_(range.stride, 0) {
    block_.reserve(kBlock);
    output_.resize(kBlock);
}

void SampleFilter::feed(std::span<const std::byte> in, const Sink& sink) {
    const uint64_t begin = range_.offset, end = range_.offset + range_.length;
    while (!in.empty()) {
        std::size_t take = in.size();
        if (position_ < begin) {
            take = static_cast<std::size_t>(std::min<uint64_t>(take, begin - position_));
            sink(in.first(take));
        } else if (position_ < end) {
            take =
                std::min({take, kBlock - block_.size(), static_cast<std::size_t>(end - position_)});
            const bool completes = block_.size() + take == kBlock || position_ + take == end;
            if (block_.empty() && completes) {
                transform(in.first(take), sink);  // a whole block in the input: no copy
            } else {
                block_.insert(block_.end(), in.begin(),
                              in.begin() + static_cast<std::ptrdiff_t>(take));
                if (completes) {
                    transform(block_, sink);
                    block_.clear();
                }
            }
        } else {
            sink(in);
        }
        position_ += take;
        in = in.subspan(take);
    }
}

void SampleFilter::finish(const Sink& sink) {
    if (block_.empty()) return;
    transform(block_, sink);
    block_.clear();
}

void SampleFilter::transform(std::span<const std::byte> block, const Sink& sink) {
    const std::size_t n = block.size() / 2;  // whole samples; an odd last byte stays as it is
    const std::size_t stride = history_.size();
    const std::byte* in = block.data();
    std::byte* out = output_.data();
    // The channel of the block's first sample; the history ring advances one slot per sample.
    std::size_t slot = stride ? static_cast<std::size_t>(sample_index_ % stride) : 0;
    if (direction_ == Direction::encode) {
        for (std::size_t i = 0; i < n; ++i) {
            auto v = static_cast<uint16_t>(static_cast<unsigned>(in[2 * i]) |
                                           static_cast<unsigned>(in[2 * i + 1]) << 8);
            if (stride) {
                const uint16_t prev = history_[slot];
                history_[slot] = v;
                v = static_cast<uint16_t>(v - prev);
                if (++slot == stride) slot = 0;
            }
            out[i] = static_cast<std::byte>(v & 0xff);
            out[n + i] = static_cast<std::byte>(v >> 8);
        }
    } else {
        for (std::size_t i = 0; i < n; ++i) {
            auto v = static_cast<uint16_t>(static_cast<unsigned>(in[i]) |
                                           static_cast<unsigned>(in[n + i]) << 8);
            if (stride) {
                v = static_cast<uint16_t>(v + history_[slot]);
                history_[slot] = v;
                if (++slot == stride) slot = 0;
            }
            out[2 * i] = static_cast<std::byte>(v & 0xff);
            out[2 * i + 1] = static_cast<std::byte>(v >> 8);
        }
    }
    sample_index_ += n;
    if (block.size() % 2) out[2 * n] = block.back();
    sink(std::span(output_).first(block.size()));
}

}  // namespace countylink::compress
