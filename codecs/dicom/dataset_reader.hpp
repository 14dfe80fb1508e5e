// A reader for the small datasets DIMSE requests carry (a Storage Commitment N-ACTION, a C-FIND
// identifier), little endian, implicit or explicit VR, from untrusted peers. It is ours and not
// DCMTK's: DCMTK on untrusted bytes allocates declared lengths before reading them, recurses once
// per nesting level and inserts out-of-order elements in quadratic time. Here every length is
// checked against its container, nesting is bounded and tags must ascend; linear in the size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace countylink::codecs::dicom {

// Implicit and explicit VR little endian: the syntaxes request datasets are read in.
bool is_request_transfer_syntax(std::string_view uid);
bool is_explicit_vr_syntax(std::string_view uid);

class DatasetReader {
  public:
    static constexpr uint32_t kItem = 0xFFFEE000, kItemEnd = 0xFFFEE00D, kSequenceEnd = 0xFFFEE0DD;
    static constexpr uint32_t kUndefined = 0xFFFFFFFF;
    static constexpr int kMaxDepth = 8;               // requests need 2
    static constexpr std::size_t kMaxItems = 200000;  // per sequence

    struct Element {
        uint32_t tag = 0;  // group << 16 | element
        char vr[2] = {0, 0};
        uint32_t length = 0;
        bool undefined() const { return length == kUndefined; }
        std::string_view vr_name() const { return {vr, 2}; }
    };

    DatasetReader(std::span<const std::byte> bytes, bool explicit_vr)
        : bytes_(bytes), explicit_(explicit_vr) {}

    // Calls `on(element)` for each top-level element with the reader at its value; `on` must
    // consume the value (text, skip or sequence). Returns why the bytes are no dataset, or "".
    template <typename OnElement>
    std::string read(OnElement on) {
        uint32_t previous = 0;
        bool first = true;
        while (pos_ < bytes_.size() && error_.empty()) {
            Element h;
            if (!header(explicit_, bytes_.size(), h)) break;
            if (h.tag >> 16 == 0xFFFE) {
                fail("item tag outside a sequence");
                break;
            }
            if (!first && h.tag <= previous) fail("tags not in ascending order (PS3.5 7.1)");
            first = false;
            previous = h.tag;
            on(h);
        }
        return error_;
    }

    // The value as text, trailing NUL and spaces removed; a value of undefined length fails.
    std::string text(const Element& h);

    // Steps over a top-level value (a sequence item by item, at most kMaxDepth deep).
    void skip(const Element& h) { skip(h, explicit_, bytes_.size(), 0); }

    // For a sequence at top level: calls `each(item)` for every item, where `item(on)` calls
    // `on(element)` for each element of the item (in ascending order) with the reader at its
    // value; elements `on` does not consume must be passed to `skip_in_item`.
    template <typename Each>
    void sequence(const Element& h, Each each) {
        if (explicit_ && h.vr_name() != "SQ") return fail("a sequence that is not VR SQ");
        const std::size_t end = h.undefined() ? bytes_.size() : pos_ + h.length;
        items(end, h.undefined(), [&](std::size_t item_end, bool defined) {
            uint32_t previous = 0;
            auto item = [&](auto on) {
                item_elements(explicit_, item_end, defined, [&](const Element& e) {
                    if (e.tag <= previous) return fail("tags not in ascending order (PS3.5 7.1)");
                    previous = e.tag;
                    item_end_ = item_end;
                    on(e);
                });
            };
            each(item);
        });
        if (!h.undefined() && error_.empty()) pos_ = end;
    }

    // Steps over an element of the item being read by `sequence`.
    void skip_in_item(const Element& h) { skip(h, explicit_, item_end_, 2); }

    // Records the first reason the bytes are unusable; reading stops there.
    void fail(std::string why) {
        if (error_.empty()) error_ = std::move(why);
    }
    const std::string& error() const { return error_; }
    bool explicit_vr() const { return explicit_; }

  private:
    bool refuse(std::string why) {
        fail(std::move(why));
        return false;
    }
    uint16_t le16(std::size_t at) const {
        return static_cast<uint16_t>(uint16_t(bytes_[at]) | uint16_t(bytes_[at + 1]) << 8);
    }
    uint32_t le32(std::size_t at) const { return le16(at) | uint32_t(le16(at + 2)) << 16; }

    // Reads the element header at pos_ (which must end before `end`); false (and the error)
    // when it does not fit, or its value does not.
    bool header(bool explicit_vr, std::size_t end, Element& h);
    void skip(const Element& h, bool explicit_vr, std::size_t end, int depth);
    void skip_item(bool explicit_vr, std::size_t end, bool defined, int depth);

    // Calls `on(header)` for each element of an item, pos_ at its value, until `end` (an item
    // of defined length) or the item delimiter; `on` moves pos_ past the value.
    template <typename OnElement>
    void item_elements(bool explicit_vr, std::size_t end, bool defined, OnElement on) {
        while (error_.empty() && pos_ < end) {
            Element h;
            if (!header(explicit_vr, end, h)) return;
            if (h.tag == kItemEnd) {
                if (defined) fail("item delimiter inside an item of defined length");
                return;
            }
            on(h);
        }
        if (!defined) fail("item without its delimiter");
    }

    // Calls `each(item_end, defined)` with pos_ at each item's first element, for the items of a
    // sequence starting at pos_: up to `end` (defined length) or, when `delimited`, its
    // delimiter.
    template <typename Each>
    void items(std::size_t end, bool delimited, Each each) {
        std::size_t count = 0;
        while (error_.empty()) {
            if (pos_ >= end) {
                if (delimited) fail("sequence without its delimiter");
                return;
            }
            Element h;
            if (!header(false, end, h)) return;
            if (h.tag == kSequenceEnd) return;
            if (h.tag != kItem) return fail("expected an item in a sequence");
            if (++count > kMaxItems) return fail("more than 200,000 items in a sequence");
            const std::size_t item_end = h.undefined() ? end : pos_ + h.length;
            each(item_end, !h.undefined());
            if (!h.undefined()) pos_ = item_end;
        }
    }

    std::span<const std::byte> bytes_;
    bool explicit_;
    std::size_t pos_ = 0;
    std::size_t item_end_ = 0;  // of the item `sequence` is reading
    std::string error_;
};

}  // namespace countylink::codecs::dicom
