#include "codecs/dicom/dataset_reader.hpp"

#include <algorithm>
#include <cstdio>
#include <iterator>

namespace countylink::codecs::dicom {
namespace {

constexpr std::string_view kImplicitLittle = "1.2.840.10008.1.2";
constexpr std::string_view kExplicitLittle = "1.2.840.10008.1.2.1";

}  // namespace

bool is_request_transfer_syntax(std::string_view uid) {
    return uid == kImplicitLittle || uid == kExplicitLittle;
}

bool is_explicit_vr_syntax(std::string_view uid) {
    return uid == kExplicitLittle;
}

bool DatasetReader::header(bool explicit_vr, std::size_t end, Element& h) {
    if (end - pos_ < 8) return refuse("dataset ends inside an element header");
    h.tag = uint32_t(le16(pos_)) << 16 | le16(pos_ + 2);
    if (h.tag >> 16 == 0xFFFE) {
        if (h.tag != kItem && h.tag != kItemEnd && h.tag != kSequenceEnd) {
            return refuse("unknown item tag");
        }
        h.length = le32(pos_ + 4);
        pos_ += 8;
    } else if (!explicit_vr) {
        h.length = le32(pos_ + 4);
        pos_ += 8;
    } else {
        h.vr[0] = static_cast<char>(bytes_[pos_ + 4]);
        h.vr[1] = static_cast<char>(bytes_[pos_ + 5]);
        const std::string_view vr = h.vr_name();
        static constexpr std::string_view kLong[] = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ",
                                                     "SV", "UC", "UN", "UR", "UT", "UV"};
        static constexpr std::string_view kShort[] = {"AE", "AS", "AT", "CS", "DA", "DS", "DT",
                                                      "FD", "FL", "IS", "LO", "LT", "PN", "SH",
                                                      "SL", "SS", "ST", "TM", "UI", "UL", "US"};
        if (std::find(std::begin(kLong), std::end(kLong), vr) != std::end(kLong)) {
            if (end - pos_ < 12) return refuse("dataset ends inside an element header");
            h.length = le32(pos_ + 8);
            pos_ += 12;
        } else if (std::find(std::begin(kShort), std::end(kShort), vr) != std::end(kShort)) {
            h.length = le16(pos_ + 6);
            pos_ += 8;
        } else {
            return refuse("unknown VR");
        }
    }
    if (!h.undefined() && h.length > end - pos_) {
        char tag[16];
        std::snprintf(tag, sizeof tag, "(%04X,%04X)", h.tag >> 16, h.tag & 0xFFFF);
        return refuse(std::string("element ") + tag + " declares " + std::to_string(h.length) +
                      " bytes where " + std::to_string(end - pos_) + " remain");
    }
    return true;
}

std::string DatasetReader::text(const Element& h) {
    if (h.undefined()) {
        fail("a text value of undefined length");
        return {};
    }
    std::string value(reinterpret_cast<const char*>(bytes_.data() + pos_), h.length);
    pos_ += h.length;
    while (!value.empty() && (value.back() == '\0' || value.back() == ' ')) value.pop_back();
    return value;
}

// A value of undefined length holds items (a sequence, or UN whose content is implicit VR),
// each stepped over in turn, at most kMaxDepth deep.
void DatasetReader::skip(const Element& h, bool explicit_vr, std::size_t end, int depth) {
    if (!h.undefined()) {
        pos_ += h.length;
        return;
    }
    if (depth >= kMaxDepth) return fail("sequences nested too deeply");
    const bool inner_explicit = explicit_vr && h.vr_name() != "UN";
    items(end, true, [&](std::size_t item_end, bool defined) {
        skip_item(inner_explicit, item_end, defined, depth + 1);
    });
}

void DatasetReader::skip_item(bool explicit_vr, std::size_t end, bool defined, int depth) {
    item_elements(explicit_vr, end, defined,
                  [&](const Element& h) { skip(h, explicit_vr, end, depth); });
}

}  // namespace countylink::codecs::dicom
