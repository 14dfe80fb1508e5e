#include "gateway/store/stored_dataset.hpp"

#include <algorithm>
#include <stdexcept>

#include "codecs/dicom/part10.hpp"

namespace countylink::store {

std::size_t StoredDataset::read(std::span<std::byte> out) {
    if (!started_) start();
    if (pos_ < head_.size()) {
        const std::size_t n = std::min(out.size(), head_.size() - pos_);
        std::copy_n(head_.begin() + static_cast<std::ptrdiff_t>(pos_), n, out.begin());
        pos_ += n;
        return n;
    }
    return reader_.read(out);
}

void StoredDataset::start() {
    head_.resize(64 * 1024);
    std::size_t filled = 0;
    while (filled < head_.size()) {
        const std::size_t n = reader_.read(std::span(head_).subspan(filled));
        if (n == 0) break;
        filled += n;
    }
    head_.resize(filled);
    const auto offset = codecs::dicom::dataset_offset(head_);
    if (!offset) throw std::runtime_error("stored object has no readable file meta group");
    pos_ = *offset;
    started_ = true;
}

std::function<std::size_t(std::span<std::byte>)> stored_dataset_reader(BlobStore& blobs,
                                                                       std::string sha256) {
    auto dataset = std::make_shared<std::optional<StoredDataset>>();
    return [&blobs, sha256 = std::move(sha256), dataset](std::span<std::byte> out) {
        if (!*dataset) dataset->emplace(blobs.open(sha256));
        return (*dataset)->read(out);
    };
}

}  // namespace countylink::store
