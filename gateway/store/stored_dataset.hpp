// The dataset of a stored object, for sending it on with C-STORE (forwarding, C-MOVE): the blob
// decompressed as it is read, its file meta group skipped.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "gateway/store/blob_store.hpp"

namespace countylink::store {

class StoredDataset {
  public:
    explicit StoredDataset(BlobReader reader) : reader_(std::move(reader)) {}

    // Fills `out` with the next dataset bytes; 0 at the end. Throws std::runtime_error when the
    // blob has no readable file meta group (and what BlobReader throws). Blocking: a worker's.
    std::size_t read(std::span<std::byte> out);

  private:
    void start();

    BlobReader reader_;
    std::vector<std::byte> head_;  // the first 64 KiB, meta group included
    std::size_t pos_ = 0;
    bool started_ = false;
};

// A reader of the stored object's dataset for sending (send_objects, C-GET): opens the blob at
// its first call, on the worker that makes it, and reads on from there.
std::function<std::size_t(std::span<std::byte>)> stored_dataset_reader(BlobStore& blobs,
                                                                       std::string sha256);

}  // namespace countylink::store
