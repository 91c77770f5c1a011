package trust

import (
	"crypto"
	"encoding/hex"
)

const cryptoSHA256 = crypto.SHA256

func hexString(b []byte) string { return hex.EncodeToString(b) }
