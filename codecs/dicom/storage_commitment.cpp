#include "codecs/dicom/storage_commitment.hpp"

#include <dcmtk/config/osconfig.h>  // must precede the other DCMTK headers
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <dcmtk/dcmdata/dcxfer.h>

#include <stdexcept>

#include "codecs/dicom/dataset_bytes.hpp"

namespace countylink::codecs::dicom {
namespace {

constexpr std::string_view kImplicitLittle = "1.2.840.10008.1.2";
constexpr std::string_view kExplicitLittle = "1.2.840.10008.1.2.1";

E_TransferSyntax syntax_of(std::string_view uid) {
    if (uid == kImplicitLittle) return EXS_LittleEndianImplicit;
    if (uid == kExplicitLittle) return EXS_LittleEndianExplicit;
    return EXS_Unknown;
}

// A UID as PS3.5 9.1 allows it: 1-64 characters, digits and dots, no empty component.
bool valid_uid(const std::string& uid) {
    if (uid.empty() || uid.size() > 64 || uid.front() == '.' || uid.back() == '.') return false;
    for (std::size_t i = 0; i < uid.size(); ++i) {
        const char c = uid[i];
        if (c == '.' ? uid[i - 1] == '.' : (c < '0' || c > '9')) return false;
    }
    return true;
}

std::string string_of(DcmItem& item, const DcmTagKey& tag) {
    OFString value;
    if (item.findAndGetOFString(tag, value).bad()) return {};
    return std::string(value.c_str());
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
    DcmDataset ds;
    if (std::string why = read_dataset(bytes, syntax, ds); !why.empty()) {
        request.error = std::move(why);
        return request;
    }
    request.transaction_uid = string_of(ds, DCM_TransactionUID);
    if (!valid_uid(request.transaction_uid)) {
        request.error = request.transaction_uid.empty()
                            ? "no Transaction UID (0008,1195)"
                            : "Transaction UID (0008,1195) is not a valid UID";
        return request;
    }
    DcmSequenceOfItems* sequence = nullptr;
    if (ds.findAndGetSequence(DCM_ReferencedSOPSequence, sequence).bad() || sequence == nullptr ||
        sequence->card() == 0) {
        request.error = "no Referenced SOP Sequence (0008,1199) items";
        return request;
    }
    request.references.reserve(sequence->card());
    for (unsigned long i = 0; i < sequence->card(); ++i) {
        DcmItem* item = sequence->getItem(i);
        SopReference r{string_of(*item, DCM_ReferencedSOPClassUID),
                       string_of(*item, DCM_ReferencedSOPInstanceUID)};
        if (!valid_uid(r.sop_class_uid) || !valid_uid(r.sop_instance_uid)) {
            request.error = "Referenced SOP Sequence item " + std::to_string(i + 1) +
                            " lacks a valid Referenced SOP Class or Instance UID";
            return request;
        }
        request.references.push_back(std::move(r));
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
