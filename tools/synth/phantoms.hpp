#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "random.hpp"

namespace countylink::synth {

// Axial CT slice of a chest phantom (body, fat, lungs with vessels, heart, aorta, spine, ribs,
// table, noise). Returns rows*cols stored values = HU + 1024 in [0, 4095], row-major; 0 outside
// the reconstruction circle. `position` in [0, 1] runs from lung apex to base; `anatomy_seed`
// fixes the vessel layout so slices of one series match; `noise` supplies pixel noise.
std::vector<std::uint16_t> ct_slice(std::uint16_t rows, std::uint16_t cols, double pixel_mm,
                                    double position, std::uint64_t anatomy_seed, Rng& noise);

// PA chest radiograph (trunk, lungs, mediastinum, heart, spine, ribs, clavicles, diaphragm,
// noise). Returns rows*cols 12-bit values, row-major, bright = dense (MONOCHROME2 sense).
std::vector<std::uint16_t> chest_radiograph(std::uint16_t rows, std::uint16_t cols, Rng& rng);

// Where the B-mode sector of ultrasound_rgb() lies: apex (pixels), radii (pixels) of the
// imaged depth range (16 cm deep), and half opening angle (radians).
struct SectorGeometry {
    double apex_x;
    double apex_y;
    double r_min;
    double r_max;
    double half_angle;
    double depth_cm;
};

// Sector geometry for an image of rows x cols.
SectorGeometry sector_geometry(std::uint16_t rows, std::uint16_t cols);

// B-mode abdominal sector scan with speckle, an anechoic gallbladder and vessel, a bright
// diaphragm, a grey bar and coloured depth ticks. Returns rows*cols*3 bytes, RGB interleaved.
std::vector<std::uint8_t> ultrasound_rgb(std::uint16_t rows, std::uint16_t cols, Rng& rng);

// Synthetic 12-bit cine loop (a disc circling over a smooth background, with noise), produced
// a band of rows at a time so frames never need to be held whole.
class CineFrames {
  public:
    CineFrames(std::uint16_t rows, std::uint16_t cols);

    // Fills `out` (a whole number of rows, starting at `first_row`) with frame `frame`.
    void fill(std::uint32_t frame, std::uint32_t first_row, std::span<std::uint16_t> out,
              Rng& rng) const;

  private:
    std::uint16_t rows_;
    std::uint16_t cols_;
    std::vector<float> column_profile_;
    std::vector<float> row_profile_;
};

}  // namespace countylink::synth
