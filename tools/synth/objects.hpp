#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>

#include "identity.hpp"
#include "options.hpp"

namespace countylink::synth {

// Everything needed to make one object.
struct ObjectContext {
    const Options& options;
    const StudyIdentity& study;
    ObjectSlot slot;
};

// Called while a large object is written, with the bytes of it written so far.
using BytesWritten = std::function<void(std::uint64_t)>;

// Largest Pixel Data a single --kind mf object may have: the 32-bit length field's limit,
// rounded down to an even number (0xFFFFFFFF itself means "undefined length").
inline constexpr std::uint64_t kMaxPixelDataBytes = 0xFFFFFFFEULL;

// Writes one complete DICOM Part-10 file of context.options.kind at `path` (overwriting it) and
// returns its size in bytes. The mf kind streams its pixel data in ~1 MiB chunks, calling
// `on_bytes` after each, so memory stays small whatever the object size. Throws
// std::runtime_error with an actionable message on failure.
std::uint64_t write_object(const std::filesystem::path& path, const ObjectContext& context,
                           const BytesWritten& on_bytes);

}  // namespace countylink::synth
