#include "codecs/dicom/storage_commitment.hpp"

#include <dcmtk/config/osconfig.h>  // must precede the other DCMTK headers
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <dcmtk/dcmdata/dcxfer.h>

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <stdexcept>

#include "codecs/dicom/dataset_bytes.hpp"
#include "codecs/dicom/dataset_check.hpp"

namespace countylink::codecs::dicom {
namespace {

constexpr std::string_view kImplicitLittle = "1.2.840.10008.1.2";
constexpr std::string_view kExplicitLittle = "1.2.840.10008.1.2.1";

E_TransferSyntax syntax_of(std::string_view uid) {
    if (uid == kImplicitLittle) return EXS_LittleEndianImplicit;
    if (uid == kExplicitLittle) return EXS_LittleEndianExplicit;
    return EXS_Unknown;
}

void put(DcmItem& item, const DcmTagKey& tag, const std::string& value) {
    if (item.putAndInsertString(tag, value.c_str()).bad()) {
        throw std::logic_error("cannot set " + std::string(DcmTag(tag).getTagName()));
    }
}

void put_references(DcmDataset& ds, const DcmTagKey& sequence,
                    const std::vector<SopReference>& references,
                    const std::vector<FailedReference>* failed) {
    const std::size_t n = failed ? failed->size() : references.size();
    if (n == 0) return;
    for (std::size_t i = 0; i < n; ++i) {
        DcmItem* item = nullptr;
        if (ds.findOrCreateSequenceItem(sequence, item, -2).bad() || item == nullptr) {
            throw std::logic_error("cannot add a sequence item");
        }
        const SopReference& r = failed ? (*failed)[i].reference : references[i];
        put(*item, DCM_ReferencedSOPClassUID, r.sop_class_uid);
        put(*item, DCM_ReferencedSOPInstanceUID, r.sop_instance_uid);
        if (failed && item->putAndInsertUint16(DCM_FailureReason, (*failed)[i].reason).bad()) {
            throw std::logic_error("cannot set FailureReason");
        }
    }
}

// Reads an N-ACTION dataset itself instead of handing it to DCMTK: the request is a handful of
// attributes, and DCMTK on untrusted bytes allocates declared lengths before reading them,
// recurses once per nesting level and inserts out-of-order elements in quadratic time. Here
// every length is checked against its container, nesting is bounded and tags must ascend.
class RequestReader {
  public:
    RequestReader(std::span<const std::byte> bytes, bool explicit_vr)
        : bytes_(bytes), explicit_(explicit_vr) {}

    // Fills `request` (transaction UID, references); the reason when the bytes are no dataset.
    std::string read(CommitmentRequest& request) {
        uint32_t previous = 0;
        bool first = true;
        while (pos_ < bytes_.size() && error_.empty()) {
            Header h;
            if (!header(explicit_, bytes_.size(), h)) break;
            if (h.tag >> 16 == 0xFFFE) {
                fail("item tag outside a sequence");
                break;
            }
            if (!first && h.tag <= previous) fail("tags not in ascending order (PS3.5 7.1)");
            first = false;
            previous = h.tag;
            if (h.tag == kTransactionUid) {
                request.transaction_uid = text(h);
            } else if (h.tag == kReferencedSopSequence) {
                references(h, request);
            } else {
                skip(h, explicit_, bytes_.size(), 0);
            }
        }
        return error_;
    }

  private:
    static constexpr uint32_t kTransactionUid = 0x00081195;
    static constexpr uint32_t kReferencedSopSequence = 0x00081199;
    static constexpr uint32_t kReferencedSopClass = 0x00081150;
    static constexpr uint32_t kReferencedSopInstance = 0x00081155;
    static constexpr uint32_t kItem = 0xFFFEE000, kItemEnd = 0xFFFEE00D, kSequenceEnd = 0xFFFEE0DD;
    static constexpr uint32_t kUndefined = 0xFFFFFFFF;
    static constexpr int kMaxDepth = 8;               // a request needs 2
    static constexpr std::size_t kMaxItems = 200000;  // twice what 16 MiB of references holds

    struct Header {
        uint32_t tag = 0;  // group << 16 | element
        char vr[2] = {0, 0};
        uint32_t length = 0;
        bool undefined() const { return length == kUndefined; }
    };

    void fail(std::string why) {
        if (error_.empty()) error_ = std::move(why);
    }
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
    bool header(bool explicit_vr, std::size_t end, Header& h) {
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
            const std::string_view vr(h.vr, 2);
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

    std::string text(const Header& h) {
        if (h.undefined()) {
            fail("a UID of undefined length");
            return {};
        }
        std::string value(reinterpret_cast<const char*>(bytes_.data() + pos_), h.length);
        pos_ += h.length;
        while (!value.empty() && (value.back() == '\0' || value.back() == ' ')) value.pop_back();
        return value;
    }

    // Steps over a value; one of undefined length holds items (a sequence, or UN whose content
    // is implicit VR), each stepped over in turn, at most kMaxDepth deep.
    void skip(const Header& h, bool explicit_vr, std::size_t end, int depth) {
        if (!h.undefined()) {
            pos_ += h.length;
            return;
        }
        if (depth >= kMaxDepth) return fail("sequences nested too deeply");
        const bool inner_explicit = explicit_vr && !(h.vr[0] == 'U' && h.vr[1] == 'N');
        items(end, true, [&](std::size_t item_end, bool defined) {
            skip_item(inner_explicit, item_end, defined, depth + 1);
        });
    }

    // Calls `on(header)` for each element of an item, pos_ at its value, until `end` (an item
    // of defined length) or the item delimiter; `on` moves pos_ past the value.
    template <typename OnElement>
    void item_elements(bool explicit_vr, std::size_t end, bool defined, OnElement on) {
        while (error_.empty() && pos_ < end) {
            Header h;
            if (!header(explicit_vr, end, h)) return;
            if (h.tag == kItemEnd) {
                if (defined) fail("item delimiter inside an item of defined length");
                return;
            }
            on(h);
        }
        if (!defined) fail("item without its delimiter");
    }

    void skip_item(bool explicit_vr, std::size_t end, bool defined, int depth) {
        item_elements(explicit_vr, end, defined,
                      [&](const Header& h) { skip(h, explicit_vr, end, depth); });
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
            Header h;
            if (!header(false, end, h)) return;
            if (h.tag == kSequenceEnd) return;
            if (h.tag != kItem) return fail("expected an item in a sequence");
            if (++count > kMaxItems) return fail("more than 200,000 items in a sequence");
            const std::size_t item_end = h.undefined() ? end : pos_ + h.length;
            each(item_end, !h.undefined());
            if (!h.undefined()) pos_ = item_end;
        }
    }

    void references(const Header& h, CommitmentRequest& request) {
        if (explicit_ && !(h.vr[0] == 'S' && h.vr[1] == 'Q')) {
            return fail("Referenced SOP Sequence (0008,1199) is not a sequence");
        }
        const std::size_t end = h.undefined() ? bytes_.size() : pos_ + h.length;
        const auto each = [&](std::size_t item_end, bool defined) {
            SopReference r;
            uint32_t previous = 0;
            item_elements(explicit_, item_end, defined, [&](const Header& e) {
                if (e.tag <= previous) return fail("tags not in ascending order (PS3.5 7.1)");
                previous = e.tag;
                if (e.tag == kReferencedSopClass) {
                    r.sop_class_uid = text(e);
                } else if (e.tag == kReferencedSopInstance) {
                    r.sop_instance_uid = text(e);
                } else {
                    skip(e, explicit_, item_end, 2);
                }
            });
            if (!error_.empty()) return;
            // One bad reference fails only itself (reported back with 0x0110), not the request.
            if (is_valid_uid(r.sop_class_uid) && is_valid_uid(r.sop_instance_uid)) {
                request.references.push_back(std::move(r));
            } else {
                request.malformed.push_back(std::move(r));
            }
        };
        items(end, h.undefined(), each);
        if (!h.undefined() && error_.empty()) pos_ = end;
    }

    std::span<const std::byte> bytes_;
    bool explicit_;
    std::size_t pos_ = 0;
    std::string error_;
};

}  // namespace

bool is_commitment_transfer_syntax(std::string_view uid) {
    return syntax_of(uid) != EXS_Unknown;
}

CommitmentRequest parse_commitment_request(std::span<const std::byte> bytes,
                                           std::string_view transfer_syntax) {
    CommitmentRequest request;
    const E_TransferSyntax syntax = syntax_of(transfer_syntax);
    if (syntax == EXS_Unknown) {
        request.error = "transfer syntax " + std::string(transfer_syntax) + " not supported";
        return request;
    }
    RequestReader reader(bytes, syntax == EXS_LittleEndianExplicit);
    request.error = reader.read(request);
    if (!request.error.empty()) return request;
    if (!is_valid_uid(request.transaction_uid)) {
        request.error = request.transaction_uid.empty()
                            ? "no Transaction UID (0008,1195)"
                            : "Transaction UID (0008,1195) is not a valid UID";
    } else if (request.references.empty() && request.malformed.empty()) {
        request.error = "no Referenced SOP Sequence (0008,1199) items";
    }
    return request;
}

std::vector<std::byte> encode_commitment_report(const CommitmentReport& report,
                                                std::string_view transfer_syntax) {
    const E_TransferSyntax syntax = syntax_of(transfer_syntax);
    if (syntax == EXS_Unknown) {
        throw std::invalid_argument("cannot write a commitment report in " +
                                    std::string(transfer_syntax));
    }
    DcmDataset ds;
    put(ds, DCM_TransactionUID, report.transaction_uid);
    put_references(ds, DCM_ReferencedSOPSequence, report.committed, nullptr);
    put_references(ds, DCM_FailedSOPSequence, {}, &report.failed);
    std::vector<std::byte> out;
    write_dataset(ds, syntax, out);
    return out;
}

}  // namespace countylink::codecs::dicom
