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
#include "codecs/dicom/dataset_reader.hpp"

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
        if (failed) {
            // A malformed reference is echoed as sent where DCMTK can write it, else left
            // empty: the equipment gets 0x0110 for it instead of no report at all.
            for (const auto& [tag, value] :
                 {std::pair{DCM_ReferencedSOPClassUID, &r.sop_class_uid},
                  std::pair{DCM_ReferencedSOPInstanceUID, &r.sop_instance_uid}}) {
                if (item->putAndInsertString(tag, value->c_str()).bad()) put(*item, tag, "");
            }
        } else {
            put(*item, DCM_ReferencedSOPClassUID, r.sop_class_uid);
            put(*item, DCM_ReferencedSOPInstanceUID, r.sop_instance_uid);
        }
        if (failed && item->putAndInsertUint16(DCM_FailureReason, (*failed)[i].reason).bad()) {
            throw std::logic_error("cannot set FailureReason");
        }
    }
}

constexpr uint32_t kTransactionUid = 0x00081195;
constexpr uint32_t kReferencedSopSequence = 0x00081199;
constexpr uint32_t kReferencedSopClass = 0x00081150;
constexpr uint32_t kReferencedSopInstance = 0x00081155;

// The Referenced SOP Sequence's items into `request`: one bad reference fails only itself
// (reported back with 0x0110), not the request.
void read_references(DatasetReader& reader, const DatasetReader::Element& h,
                     CommitmentRequest& request) {
    if (reader.explicit_vr() && h.vr_name() != "SQ") {
        return reader.fail("Referenced SOP Sequence (0008,1199) is not a sequence");
    }
    reader.sequence(h, [&](auto item) {
        SopReference r;
        item([&](const DatasetReader::Element& e) {
            if (e.tag == kReferencedSopClass) {
                r.sop_class_uid = reader.text(e);
            } else if (e.tag == kReferencedSopInstance) {
                r.sop_instance_uid = reader.text(e);
            } else {
                reader.skip_in_item(e);
            }
        });
        if (!reader.error().empty()) return;
        if (is_valid_uid(r.sop_class_uid) && is_valid_uid(r.sop_instance_uid)) {
            request.references.push_back(std::move(r));
        } else {
            request.malformed.push_back(std::move(r));
        }
    });
}

}  // namespace

CommitmentRequest parse_commitment_request(std::span<const std::byte> bytes,
                                           std::string_view transfer_syntax) {
    CommitmentRequest request;
    const E_TransferSyntax syntax = syntax_of(transfer_syntax);
    if (syntax == EXS_Unknown) {
        request.error = "transfer syntax " + std::string(transfer_syntax) + " not supported";
        return request;
    }
    DatasetReader reader(bytes, syntax == EXS_LittleEndianExplicit);
    request.error = reader.read([&](const DatasetReader::Element& h) {
        if (h.tag == kTransactionUid) {
            request.transaction_uid = reader.text(h);
        } else if (h.tag == kReferencedSopSequence) {
            read_references(reader, h, request);
        } else {
            reader.skip(h);
        }
    });
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
