#include "codecs/dicom/sop_classes.hpp"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcuid.h>

#include <algorithm>
#include <array>
#include <string>
#include <unordered_set>

namespace countylink::codecs::dicom {
namespace {

const std::unordered_set<std::string>& storage_classes() {
    static const std::unordered_set<std::string> classes = [] {
        std::unordered_set<std::string> s;
        for (int i = 0; i < numberOfDcmAllStorageSOPClassUIDs; ++i) {
            s.insert(dcmAllStorageSOPClassUIDs[i]);
        }
        return s;
    }();
    return classes;
}

constexpr std::array<std::string_view, 33> kTransferSyntaxes = {
    "1.2.840.10008.1.2",        // Implicit VR Little Endian
    "1.2.840.10008.1.2.1",      // Explicit VR Little Endian
    "1.2.840.10008.1.2.1.99",   // Deflated Explicit VR Little Endian
    "1.2.840.10008.1.2.2",      // Explicit VR Big Endian (retired, still sent)
    "1.2.840.10008.1.2.4.50",   // JPEG Baseline
    "1.2.840.10008.1.2.4.51",   // JPEG Extended
    "1.2.840.10008.1.2.4.53",   // JPEG Spectral Selection, Non-Hierarchical (retired)
    "1.2.840.10008.1.2.4.55",   // JPEG Full Progression (retired)
    "1.2.840.10008.1.2.4.57",   // JPEG Lossless
    "1.2.840.10008.1.2.4.70",   // JPEG Lossless SV1
    "1.2.840.10008.1.2.4.80",   // JPEG-LS Lossless
    "1.2.840.10008.1.2.4.81",   // JPEG-LS Near-Lossless
    "1.2.840.10008.1.2.4.90",   // JPEG 2000 Lossless
    "1.2.840.10008.1.2.4.91",   // JPEG 2000
    "1.2.840.10008.1.2.4.92",   // JPEG 2000 Part 2 Lossless
    "1.2.840.10008.1.2.4.93",   // JPEG 2000 Part 2
    "1.2.840.10008.1.2.4.94",   // JPIP Referenced
    "1.2.840.10008.1.2.4.95",   // JPIP Referenced Deflate
    "1.2.840.10008.1.2.4.100",  // MPEG2 Main Profile
    "1.2.840.10008.1.2.4.101",  // MPEG2 High Profile
    "1.2.840.10008.1.2.4.102",  // MPEG-4 AVC/H.264 High Profile
    "1.2.840.10008.1.2.4.103",  // MPEG-4 AVC/H.264 BD-compatible
    "1.2.840.10008.1.2.4.104",  // MPEG-4 AVC/H.264 2D video
    "1.2.840.10008.1.2.4.105",  // MPEG-4 AVC/H.264 3D video
    "1.2.840.10008.1.2.4.106",  // MPEG-4 AVC/H.264 Stereo
    "1.2.840.10008.1.2.4.107",  // HEVC Main
    "1.2.840.10008.1.2.4.108",  // HEVC Main 10
    "1.2.840.10008.1.2.4.201",  // HTJ2K Lossless
    "1.2.840.10008.1.2.4.202",  // HTJ2K Lossless RPCL
    "1.2.840.10008.1.2.4.203",  // HTJ2K
    "1.2.840.10008.1.2.5",      // RLE Lossless
    "1.2.840.10008.1.2.8.1",    // Deflated Image Frame Compression
    "1.2.840.10008.1.2.1.98",   // Encapsulated Uncompressed Explicit VR Little Endian
};

}  // namespace

bool is_accepted_sop_class(std::string_view uid) {
    return uid == kVerificationSopClass || storage_classes().contains(std::string(uid));
}

std::vector<std::string> storage_sop_classes() {
    std::vector<std::string> out;
    for (int i = 0; i < numberOfDcmAllStorageSOPClassUIDs; ++i) {
        out.emplace_back(dcmAllStorageSOPClassUIDs[i]);
    }
    return out;
}

std::vector<std::string> accepted_transfer_syntaxes() {
    return {kTransferSyntaxes.begin(), kTransferSyntaxes.end()};
}

std::string uid_name(std::string_view uid) {
    const char* name = dcmFindNameOfUID(std::string(uid).c_str(), nullptr);
    return name ? name : std::string(uid);
}

bool is_image_sop_class(std::string_view uid) {
    return dcmIsImageStorageSOPClassUID(std::string(uid).c_str());
}

bool is_ecg_sop_class(std::string_view uid) {
    return uid == "1.2.840.10008.5.1.4.1.1.9.1.1" || uid == "1.2.840.10008.5.1.4.1.1.9.1.2" ||
           uid == "1.2.840.10008.5.1.4.1.1.9.1.3";
}

bool is_accepted_transfer_syntax(std::string_view uid) {
    return std::find(kTransferSyntaxes.begin(), kTransferSyntaxes.end(), uid) !=
           kTransferSyntaxes.end();
}

}  // namespace countylink::codecs::dicom
