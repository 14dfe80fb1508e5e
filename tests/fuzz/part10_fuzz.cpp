// The Part-10 meta header reader STOW-RS and ingest use to find the dataset: it must agree with
// itself (both readers find the same dataset start) and never point past the input.
#include "codecs/dicom/part10.hpp"
#include "tests/fuzz/targets.hpp"

namespace countylink::fuzz {

int part10(std::span<const std::byte> input) {
    const auto start = codecs::dicom::read_part10_start(input);
    const auto offset = codecs::dicom::dataset_offset(input);
    if (start && start->dataset_offset > input.size()) fail("Part-10 dataset starts past the end");
    if (offset && *offset > input.size()) fail("Part-10 dataset offset past the end");
    if (start) {
        // What we re-encode for storage must read back as the same identity.
        const auto header = codecs::dicom::encode_part10_header(start->meta);
        const auto again = codecs::dicom::read_part10_start(header);
        if (!again || again->meta.sop_instance_uid != start->meta.sop_instance_uid ||
            again->meta.transfer_syntax_uid != start->meta.transfer_syntax_uid ||
            again->dataset_offset != header.size()) {
            fail("Part-10 header round trip");
        }
    }
    return 0;
}

}  // namespace countylink::fuzz
