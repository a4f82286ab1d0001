package sbom

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/nubificus/bunix/internal/filekind"
)

// The SPDX 2.3 JSON document, as much of it as bunix writes
// (https://spdx.github.io/spdx-spec/v2.3/). The tests read it back with
// github.com/spdx/tools-golang.

// Version is the SPDX version of the documents written.
const Version = "SPDX-2.3"

// MediaType is the media type of an SPDX JSON document, the artifactType
// of an SBOM attached to an image.
const MediaType = "application/spdx+json"

// noAssertion is SPDX's "nothing is said about this".
const noAssertion = "NOASSERTION"

// Document is an SPDX 2.3 document.
type Document struct {
	SPDXVersion       string         `json:"spdxVersion"`
	DataLicense       string         `json:"dataLicense"`
	SPDXID            string         `json:"SPDXID"`
	Name              string         `json:"name"`
	DocumentNamespace string         `json:"documentNamespace"`
	CreationInfo      CreationInfo   `json:"creationInfo"`
	Packages          []Package      `json:"packages"`
	Files             []File         `json:"files,omitempty"`
	Relationships     []Relationship `json:"relationships"`
}

// CreationInfo says when and by what a document was made.
type CreationInfo struct {
	Created  string   `json:"created"`
	Creators []string `json:"creators"`
}

// Package is an SPDX package: the image, a guest piece, or a Nix store
// path.
type Package struct {
	SPDXID                string            `json:"SPDXID"`
	Name                  string            `json:"name"`
	VersionInfo           string            `json:"versionInfo,omitempty"`
	PackageFileName       string            `json:"packageFileName,omitempty"`
	DownloadLocation      string            `json:"downloadLocation"`
	FilesAnalyzed         bool              `json:"filesAnalyzed"`
	VerificationCode      *VerificationCode `json:"packageVerificationCode,omitempty"`
	Checksums             []Checksum        `json:"checksums,omitempty"`
	LicenseConcluded      string            `json:"licenseConcluded"`
	LicenseDeclared       string            `json:"licenseDeclared"`
	CopyrightText         string            `json:"copyrightText"`
	Comment               string            `json:"comment,omitempty"`
	ExternalRefs          []ExternalRef     `json:"externalRefs,omitempty"`
	PrimaryPackagePurpose string            `json:"primaryPackagePurpose,omitempty"`
	BuiltDate             string            `json:"builtDate,omitempty"`
	files                 []string          // SPDXIDs of the files it contains
	fileSHA1s             []string          // their SHA-1s, for VerificationCode
}

// VerificationCode is the SHA-1 of a package's files' sorted SHA-1s.
type VerificationCode struct {
	Value string `json:"packageVerificationCodeValue"`
}

// File is a regular file of an image's layer, or of a guest's initrd or
// block image.
type File struct {
	SPDXID           string     `json:"SPDXID"`
	FileName         string     `json:"fileName"`
	Checksums        []Checksum `json:"checksums"`
	LicenseConcluded string     `json:"licenseConcluded"`
	CopyrightText    string     `json:"copyrightText"`
	Comment          string     `json:"comment,omitempty"`
}

// Checksum is one digest of a file or package.
type Checksum struct {
	Algorithm string `json:"algorithm"`
	Value     string `json:"checksumValue"`
}

// ExternalRef names a package outside the document, e.g. by purl.
type ExternalRef struct {
	Category string `json:"referenceCategory"`
	Type     string `json:"referenceType"`
	Locator  string `json:"referenceLocator"`
}

// Relationship relates two elements: DESCRIBES, CONTAINS.
type Relationship struct {
	Element string `json:"spdxElementId"`
	Type    string `json:"relationshipType"`
	Related string `json:"relatedSpdxElement"`
}

// MaxDocument bounds an SBOM file that ReadFile reads.
const MaxDocument = 256 << 20

// ReadFile reads the SPDX JSON document at path for attaching it to an
// image: a regular file of at most MaxDocument bytes holding a JSON object
// whose spdxVersion starts with "SPDX-". It returns the file's bytes as
// they are.
func ReadFile(path string) ([]byte, error) {
	data, err := filekind.ReadRegular(path, MaxDocument)
	if err != nil {
		return nil, fmt.Errorf("reading the SBOM %s: %w", path, err)
	}
	var head struct {
		SPDXVersion string `json:"spdxVersion"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("reading the SBOM %s: not JSON: %w", path, err)
	}
	if !strings.HasPrefix(head.SPDXVersion, "SPDX-") {
		return nil, fmt.Errorf("reading the SBOM %s: spdxVersion = %q: not an SPDX JSON document (bunix build --sbom writes one)", path, head.SPDXVersion)
	}
	return data, nil
}
