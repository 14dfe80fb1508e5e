// Which studies a principal may see, over HTTP (QIDO/WADO, ECG, worklist) and DICOM (C-FIND).
#pragma once

#include <string>

#include "gateway/auth/authenticator.hpp"
#include "gateway/queue/reading_queues.hpp"

namespace countylink::query {

// Whether `who` may see study `study_uid`: ops and admins all, readers when the study is on one
// of their queues, nobody else. Blocking (a query): call it on a worker.
bool study_visible(const auth::Principal& who, queue::ReadingQueues& queues,
                   const std::string& study_uid);

}  // namespace countylink::query
