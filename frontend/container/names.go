package container

import (
	"crypto/rand"
	"math/big"
)

var (
	adjectives = []string{"agile", "bold", "brave", "calm", "clever", "eager", "fair", "gentle",
		"happy", "jolly", "keen", "kind", "lucid", "merry", "nimble", "proud", "quiet", "quick",
		"sharp", "steady", "swift", "tidy", "vivid", "wise", "zesty"}
	nouns = []string{"albatross", "badger", "beaver", "cheetah", "dolphin", "falcon", "gecko",
		"heron", "ibis", "jaguar", "koala", "lemur", "lynx", "marmot", "newt", "otter", "panda",
		"puffin", "quokka", "raven", "salmon", "tapir", "walrus", "yak", "zebra"}
)

func pick(list []string) string {
	n, err := rand.Int(rand.Reader, big.NewInt(int64(len(list))))
	if err != nil {
		return list[0]
	}
	return list[n.Int64()]
}

// randomName returns an adjective_noun name not in taken.
func randomName(taken map[string]bool) string {
	for i := 0; ; i++ {
		if n := nameAttempt(i); !taken[n] {
			return n
		}
	}
}

// nameAttempt is the i-th try at a free random name: after 50 taken,
// with a random suffix too.
func nameAttempt(i int) string {
	n := pick(adjectives) + "_" + pick(nouns)
	if i > 50 {
		n += "_" + newID()[:6]
	}
	return n
}
