#include "tests/bench/receive.hpp"

#include <algorithm>
#include <stdexcept>

#include "gateway/dicom/pdu.hpp"

namespace countylink::bench {

dicom::Command store_request(const BenchObject& object) {
    dicom::Command rq;
    rq.command_field = static_cast<uint16_t>(dicom::CommandField::c_store_rq);
    rq.affected_sop_class_uid = object.report.ids.sop_class_uid;
    rq.affected_sop_instance_uid = object.report.ids.sop_instance_uid;
    rq.message_id = 7;
    rq.priority = 0;  // medium
    rq.data_set_type = 0x0000;
    return rq;
}

PduStream frame_dataset(std::span<const std::byte> dataset, std::size_t max_pdu) {
    const std::size_t chunk = max_pdu - kPdvOverhead;
    PduStream stream;
    for (std::size_t at = 0; at < dataset.size(); at += chunk) {
        const std::size_t n = std::min(chunk, dataset.size() - at);
        const auto pdu =
            dicom::encode_p_data(1, false, at + n == dataset.size(), dataset.subspan(at, n));
        stream.bytes.insert(stream.bytes.end(), pdu.begin(), pdu.end());
        ++stream.pdus;
    }
    return stream;
}

ingest::SpoolFile receive(std::span<const std::byte> stream, ingest::Spool& spool_files,
                          const codecs::dicom::MetaInfo& meta) {
    ingest::SpoolFile spool(spool_files);
    spool.append(codecs::dicom::encode_part10_header(meta));
    while (!stream.empty()) {
        const auto header = dicom::decode_header(stream.first<dicom::kPduHeaderSize>());
        if (header.type != dicom::PduType::p_data ||
            header.length > stream.size() - dicom::kPduHeaderSize) {
            throw std::runtime_error("benchmark stream is not whole P-DATA-TF PDUs");
        }
        const auto body = stream.subspan(dicom::kPduHeaderSize, header.length);
        for (const auto& pdv : dicom::decode_p_data(body)) spool.append(pdv.data);
        stream = stream.subspan(dicom::kPduHeaderSize + header.length);
    }
    spool.close();
    return spool;
}

}  // namespace countylink::bench
