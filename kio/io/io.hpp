// kio/io — raw io_uring operations on file descriptors.
//
// * kio::read / kio::write   one IORING_OP_READ / WRITE on any fd (pipes, files, sockets).
// * kio::nop                 a ring round trip (tests, benchmarks).
// * kio::make_io_op          build an awaitable for any other opcode (op.hpp explains how).
//
// Every operation here is an IoOp: it observes the ambient cancel token, resumes only after its
// CQE arrived, and needs its buffers to outlive the co_await. Networking lives in kio/net, files
// with open/close in kio/fs.
#pragma once

#include "kio/io/nop.hpp"
#include "kio/io/op.hpp"
#include "kio/io/read.hpp"
#include "kio/io/write.hpp"
