// Turning a stored object into a transfer syntax a peer accepts, for a viewer that retrieves
// (C-GET) what a township sent compressed but proposed only the uncompressed syntaxes.
// Objects are stored and forwarded exactly as sent; this is only for the way out to viewers.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace countylink::codecs::dicom {

inline constexpr const char* kImplicitLittleEndian = "1.2.840.10008.1.2";
inline constexpr const char* kExplicitLittleEndian = "1.2.840.10008.1.2.1";

// DCMTK's JPEG (baseline, extended, lossless), JPEG-LS and RLE decoders, registered for the
// lifetime of this object (DCMTK keeps them in a process-wide list): one, in main, before any
// transcode_dataset call and past the last one.
class Decoders {
  public:
    Decoders();
    ~Decoders();
    Decoders(const Decoders&) = delete;
    Decoders& operator=(const Decoders&) = delete;
};

// Whether transcode_dataset can turn an object stored in `from` into `to`: `to` is Implicit or
// Explicit VR Little Endian, and `from` is one of those, Big Endian, Deflated, or a
// compression the decoders above read. JPEG 2000 is not (DCMTK has no free decoder).
bool can_transcode(std::string_view from, std::string_view to);

// Objects larger than this, stored or decompressed, are not transcoded (their sub-operation
// fails, as without transcoding): a worker converting holds at most this plus the compressed
// object (four workers by default: ~1 GiB at worst).
inline constexpr std::uint64_t kMaxTranscodeBytes = 256u << 20;

// Reads the Part-10 file `in` and writes its dataset alone (no file meta group: what goes in a
// C-STORE) to `out` in transfer syntax `to`, decompressing pixel data; the SOP Instance UID is
// kept. Returns "" or why not, also when the pixel data would decompress to over `max_bytes`.
// Blocking, and the whole dataset is in memory: callers bound the stored size too.
std::string transcode_dataset(const std::filesystem::path& in, const std::filesystem::path& out,
                              std::string_view to, std::uint64_t max_bytes = kMaxTranscodeBytes);

}  // namespace countylink::codecs::dicom
