// The index row's identifying fields, as the validator read them from the object. One mapping
// for everything that indexes an object (the ingest pipeline, countylinkctl reindex).
#pragma once

#include "codecs/dicom/dataset_check.hpp"
#include "gateway/store/index.hpp"

namespace countylink::ingest {

// An InstanceRecord with the identifiers, names, dates and worklist text of `ids` filled in;
// the caller adds where it came from, sizes, blob and routing.
store::InstanceRecord record_of(const codecs::dicom::Identifiers& ids);

}  // namespace countylink::ingest
