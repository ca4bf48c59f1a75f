package oauth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/asn1"
	"errors"
	"math/big"
)

// The DER readers below take only what a verifier needs from PEM keys: an RSA or EC public
// key from a SubjectPublicKeyInfo, a PKCS#1 RSAPublicKey, or a certificate's key. They stand
// in for crypto/x509, whose other parsers (names, IP addresses, Ed25519, DSA...) more than
// double the size of the wasm module.

var (
	oidRSA       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidECKey     = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidCurveP256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}
	oidCurveP384 = asn1.ObjectIdentifier{1, 3, 132, 0, 34}
	oidCurveP521 = asn1.ObjectIdentifier{1, 3, 132, 0, 35}
)

type algorithmIdentifier struct {
	Algorithm  asn1.ObjectIdentifier
	Parameters asn1.RawValue `asn1:"optional"`
}

type subjectPublicKeyInfo struct {
	Algorithm algorithmIdentifier
	PublicKey asn1.BitString
}

type pkcs1PublicKey struct {
	N *big.Int
	E int
}

// tbsCertificate is the start of a certificate's TBSCertificate, up to its key.
type tbsCertificate struct {
	Version   int `asn1:"optional,explicit,default:0,tag:0"`
	Serial    asn1.RawValue
	Signature asn1.RawValue
	Issuer    asn1.RawValue
	Validity  asn1.RawValue
	Subject   asn1.RawValue
	PublicKey subjectPublicKeyInfo
	Rest      []asn1.RawValue `asn1:"optional"`
}

type certificate struct {
	TBS       tbsCertificate
	Algorithm asn1.RawValue
	Signature asn1.BitString
}

var errDER = errors.New("oauth: invalid DER")

// unmarshalAll decodes der into v and refuses trailing bytes.
func unmarshalAll(der []byte, v any) error {
	rest, err := asn1.Unmarshal(der, v)
	if err != nil || len(rest) != 0 {
		return errDER
	}
	return nil
}

// parsePKIX reads a SubjectPublicKeyInfo ("PUBLIC KEY").
func parsePKIX(der []byte) (any, error) {
	var spki subjectPublicKeyInfo
	if err := unmarshalAll(der, &spki); err != nil {
		return nil, err
	}
	return spkiKey(&spki)
}

// parseCertificateKey reads the key of a certificate ("CERTIFICATE"), checking nothing else.
func parseCertificateKey(der []byte) (any, error) {
	var c certificate
	if err := unmarshalAll(der, &c); err != nil {
		return nil, err
	}
	return spkiKey(&c.TBS.PublicKey)
}

func spkiKey(spki *subjectPublicKeyInfo) (any, error) {
	if spki.PublicKey.BitLength%8 != 0 {
		return nil, errDER
	}
	key := spki.PublicKey.Bytes
	switch {
	case spki.Algorithm.Algorithm.Equal(oidRSA):
		return parsePKCS1(key)
	case spki.Algorithm.Algorithm.Equal(oidECKey):
		var curveOID asn1.ObjectIdentifier
		if err := unmarshalAll(spki.Algorithm.Parameters.FullBytes, &curveOID); err != nil {
			return nil, errDER
		}
		var curve elliptic.Curve
		switch {
		case curveOID.Equal(oidCurveP256):
			curve = elliptic.P256()
		case curveOID.Equal(oidCurveP384):
			curve = elliptic.P384()
		case curveOID.Equal(oidCurveP521):
			curve = elliptic.P521()
		default:
			return nil, errors.New("oauth: unsupported EC curve")
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(curve, key)
		if err != nil {
			return nil, errDER
		}
		return pub, nil
	}
	return nil, errors.New("oauth: unsupported key algorithm")
}

// parsePKCS1 reads an RSAPublicKey ("RSA PUBLIC KEY"); newRSAKey checks its size and exponent.
func parsePKCS1(der []byte) (any, error) {
	var k pkcs1PublicKey
	if err := unmarshalAll(der, &k); err != nil || k.N == nil || k.N.Sign() <= 0 || k.E <= 0 {
		return nil, errDER
	}
	return &rsa.PublicKey{N: k.N, E: k.E}, nil
}
