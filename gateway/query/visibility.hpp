// Which studies a principal may see, over HTTP (QIDO/WADO, ECG, worklist) and DICOM (C-FIND).
#pragma once

#include <functional>
#include <string>

#include "gateway/auth/authenticator.hpp"
#include "gateway/queue/reading_queues.hpp"
#include "gateway/store/index.hpp"

namespace countylink::query {

// Whether `who` may see study `study_uid`: ops and admins all, readers when the study is on one
// of their queues, nobody else. Blocking (a query): call it on a worker.
bool study_visible(const auth::Principal& who, queue::ReadingQueues& queues,
                   const std::string& study_uid);

// Whether the caller may see an instance (C-FIND, C-MOVE).
using Visible = std::function<bool(const store::InstanceRecord&)>;

// study_visible for each instance's study, asked once per study. Blocking: a worker's.
Visible visible_to(auth::Principal who, queue::ReadingQueues& queues);

}  // namespace countylink::query
