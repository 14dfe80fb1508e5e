// XLI, the waveform compression of Philips Sierra / PageWriter XML: per lead one chunk of an
// 8-byte header (int32 LE compressed size, int16 reserved, int16 LE first delta seed) and LZW with
// 10-bit codes. The LZW output's first half holds the high bytes and its second half the low
// bytes of 16-bit second-difference residuals, which a running predictor turns back into samples.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace countylink::codecs::ecg {

struct XliLeads {
    std::vector<std::vector<std::int16_t>> leads;  // one per chunk, in stream order
    std::string error;                             // non-empty when the stream is refused
};

// Decodes the first `leads` chunks of an XLI stream; chunks after them (channels the cart
// allocated but did not use) are never expanded, so the work is bounded by leads x samples.
// Refuses (error set, leads empty) a chunk whose header or declared size runs past the data, an
// LZW code that names no entry, and a lead expanding beyond `max_samples_per_lead`. Fewer chunks
// than `leads` is not an error here: the caller compares. Never reads outside `data`.
XliLeads decode_xli(std::span<const std::byte> data, std::size_t leads,
                    std::size_t max_samples_per_lead);

}  // namespace countylink::codecs::ecg
