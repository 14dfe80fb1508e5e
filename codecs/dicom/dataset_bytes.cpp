#include "codecs/dicom/dataset_bytes.hpp"

#include <dcmtk/dcmdata/dcostrmb.h>

#include <stdexcept>

namespace countylink::codecs::dicom {
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

}  // namespace countylink::codecs::dicom
