// Writes signal values into frame payloads: the inverse of the Decoder, for the CAN traffic
// generator and for tests. Stateless functions; safe from any thread.
#pragma once

#include <cstdint>
#include <span>

#include "canvoy/agent/dbc.h"
#include "canvoy/agent/decoder.h"
#include "canvoy/common/error.h"

namespace canvoy::agent {

// Writes the raw value of `signal` into `payload`, leaving every other bit as it was. For signed
// signals `raw` is the sign-extended value's bits. Fails when the value does not fit the
// signal's length or the payload is too short for the signal.
[[nodiscard]] Status EncodeRaw(const DbcSignal& signal, std::uint64_t raw,
                               std::span<std::uint8_t> payload);

// The raw value whose physical value is `physical` (rounded to the nearest raw step for scaled
// signals; IEEE bits for float signals). Fails when it is outside the signal's raw range.
[[nodiscard]] Result<std::uint64_t> RawFromPhysical(const DbcSignal& signal,
                                                    const PhysicalValue& physical);

}  // namespace canvoy::agent
