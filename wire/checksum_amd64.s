#include "textflag.h"

// func sumWordsAVX2(b []byte) uint64
//
// Sums b as little-endian 32-bit words into four 64-bit lanes of each of
// four accumulators, 64 bytes a turn. Each word is split from its
// 64-bit lane as (lane & 0xffffffff) and (lane >> 32), so no add ever
// carries out of a lane for inputs below 2^34 bytes, and the adds have
// no carry chain between them (unlike ADC), which is what makes this
// several times faster than the scalar loop.
TEXT ·sumWordsAVX2(SB), NOSPLIT, $0-32
	MOVQ b_base+0(FP), SI
	MOVQ b_len+8(FP), CX
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	VPCMPEQQ Y15, Y15, Y15
	VPSRLQ $32, Y15, Y15 // 0x00000000ffffffff in each lane
	SHRQ $6, CX
	JZ done

loop:
	VMOVDQU 0(SI), Y4
	VMOVDQU 32(SI), Y5
	VPSRLQ $32, Y4, Y6
	VPSRLQ $32, Y5, Y7
	VPAND Y15, Y4, Y4
	VPAND Y15, Y5, Y5
	VPADDQ Y4, Y0, Y0
	VPADDQ Y6, Y1, Y1
	VPADDQ Y5, Y2, Y2
	VPADDQ Y7, Y3, Y3
	ADDQ $64, SI
	DECQ CX
	JNZ loop

done:
	VPADDQ Y1, Y0, Y0
	VPADDQ Y3, Y2, Y2
	VPADDQ Y2, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDQ X1, X0, X0
	VPEXTRQ $1, X0, AX
	VMOVQ X0, BX
	ADDQ BX, AX
	VZEROUPPER
	MOVQ AX, ret+24(FP)
	RET
