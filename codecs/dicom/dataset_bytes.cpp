#include "codecs/dicom/dataset_bytes.hpp"

#include <dcmtk/dcmdata/dcistrmb.h>
#include <dcmtk/dcmdata/dcostrmb.h>

#include <cstdint>
#include <cstdio>
#include <stdexcept>

namespace countylink::codecs::dicom {
namespace {

uint16_t le16(const std::byte* p) {
    return static_cast<uint16_t>(uint16_t(p[0]) | uint16_t(p[1]) << 8);
}
uint32_t le32(const std::byte* p) {
    return le16(p) | uint32_t(le16(p + 2)) << 16;
}

// Whether an explicit VR has the 4-byte length form (2 reserved bytes, then the length; PS3.5
// table 7.1-1). A VR not in the standard that is two capital letters is read as DCMTK reads it:
// the 4-byte form, as PS3.5 7.1.2 promises for VRs yet to come; anything else has 2 bytes.
bool long_vr(char a, char b) {
    static constexpr const char* kShort[] = {"AE", "AS", "AT", "CS", "DA", "DS", "DT",
                                             "FD", "FL", "IS", "LO", "LT", "PN", "SH",
                                             "SL", "SS", "ST", "TM", "UI", "UL", "US"};
    for (const char* vr : kShort) {
        if (vr[0] == a && vr[1] == b) return false;
    }
    return a >= 'A' && a <= 'Z' && b >= 'A' && b <= 'Z';
}

// Walks every element header in order (stepping into sequences and items) and checks that each
// value fits in what is left. DCMTK allocates a value's declared length before it reads it, so
// a 100-byte request declaring a 3 GB element would otherwise take 3 GB.
std::string lengths_fit(std::span<const std::byte> bytes, bool explicit_vr) {
    constexpr uint32_t kUndefined = 0xFFFFFFFF;
    std::size_t pos = 0;
    while (pos < bytes.size()) {
        if (bytes.size() - pos < 8) return "dataset ends inside an element header";
        const uint16_t group = le16(&bytes[pos]);
        const uint16_t element = le16(&bytes[pos + 2]);
        uint32_t length = 0;
        bool steps_in = false;
        if (group == 0xFFFE) {  // item and delimiters: tag + 4-byte length, no VR
            length = le32(&bytes[pos + 4]);
            pos += 8;
            steps_in = element == 0xE000;
        } else if (explicit_vr) {
            const char a = static_cast<char>(bytes[pos + 4]), b = static_cast<char>(bytes[pos + 5]);
            if (long_vr(a, b)) {
                if (bytes.size() - pos < 12) return "dataset ends inside an element header";
                length = le32(&bytes[pos + 8]);
                pos += 12;
            } else {
                length = le16(&bytes[pos + 6]);
                pos += 8;
            }
            steps_in = a == 'S' && b == 'Q';
        } else {
            length = le32(&bytes[pos + 4]);
            pos += 8;
            // Implicit VR has no VR to say "sequence": step into a value that is undefined in
            // length or starts with an item tag (FFFE,E000), as a sequence's does.
            const auto value = bytes.subspan(pos);
            steps_in = length == kUndefined ||
                       (length >= 8 && value.size() >= 4 && le16(value.data()) == 0xFFFE &&
                        le16(value.data() + 2) == 0xE000);
        }
        if (length == kUndefined) continue;  // its elements follow
        if (length > bytes.size() - pos) {
            char tag[16];
            std::snprintf(tag, sizeof tag, "(%04X,%04X)", group, element);
            return std::string("element ") + tag + " declares " + std::to_string(length) +
                   " bytes where " + std::to_string(bytes.size() - pos) + " remain";
        }
        if (!steps_in) pos += length;
    }
    return {};
}

}  // namespace

void write_dataset(DcmDataset& dataset, E_TransferSyntax syntax, std::vector<std::byte>& out) {
    std::vector<unsigned char> buffer(64 * 1024);
    DcmOutputBufferStream stream(buffer.data(), static_cast<offile_off_t>(buffer.size()));
    dataset.transferInit();
    OFCondition status = EC_StreamNotifyClient;
    while (status == EC_StreamNotifyClient) {
        status = dataset.write(stream, syntax, EET_ExplicitLength, nullptr);
        void* chunk = nullptr;
        offile_off_t length = 0;
        stream.flushBuffer(chunk, length);
        const auto* p = static_cast<const std::byte*>(chunk);
        out.insert(out.end(), p, p + length);
    }
    dataset.transferEnd();
    if (status.bad()) throw std::runtime_error(std::string("DICOM encoding: ") + status.text());
}

std::string read_dataset(std::span<const std::byte> bytes, E_TransferSyntax syntax,
                         DcmDataset& dataset) {
    if (syntax != EXS_LittleEndianImplicit && syntax != EXS_LittleEndianExplicit) {
        return "only little-endian datasets are read from memory";
    }
    if (std::string why = lengths_fit(bytes, syntax == EXS_LittleEndianExplicit); !why.empty()) {
        return "dataset cannot be parsed: " + why;
    }
    DcmInputBufferStream stream;
    stream.setBuffer(bytes.data(), static_cast<offile_off_t>(bytes.size()));
    stream.setEos();
    dataset.transferInit();
    const OFCondition status = dataset.read(stream, syntax);
    dataset.transferEnd();
    if (status.bad()) return std::string("dataset cannot be parsed: ") + status.text();
    return {};
}

}  // namespace countylink::codecs::dicom
