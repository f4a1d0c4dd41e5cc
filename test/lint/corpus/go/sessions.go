package sessions

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

const sessionPrefix = "session:"

type Store struct {
	rdb *redis.Client
	mu  sync.Mutex
	ttl time.Duration
}

func NewStore(addr string) *Store {
	return &Store{rdb: redis.NewClient(&redis.Options{Addr: addr}), ttl: 24 * time.Hour}
}

func (s *Store) Save(ctx context.Context, id string, body []byte) error {
	return s.rdb.Set(ctx, sessionPrefix+id, body, s.ttl).Err()
}

func (s *Store) SaveForever(ctx context.Context, id string, body []byte) error {
	return s.rdb.Set(ctx, sessionPrefix+id, body, 0).Err() // @expect ttl-zero
}

func (s *Store) Lock(ctx context.Context, name string) (bool, error) {
	return s.rdb.SetNX(ctx, "lock:"+name, 1, 30*time.Second).Result()
}

func (s *Store) LockForever(ctx context.Context, name string) (bool, error) {
	return s.rdb.SetNX(ctx, "lock:"+name, 1, 0).Result() // @expect ttl-zero
}

func (s *Store) Cache(ctx context.Context, url string, html string) error {
	return s.rdb.SetEx(ctx, fmt.Sprintf("cache:page:%s", url), html, time.Hour).Err()
}

func (s *Store) Profile(ctx context.Context, id string, fields map[string]string) error {
	// Durable under the policy.
	return s.rdb.HSet(ctx, fmt.Sprintf("user:%s:profile", id), fields).Err()
}

func (s *Store) Cart(ctx context.Context, id string) error {
	return s.rdb.HSet(ctx, "cart:"+id, "items", 0).Err() // @expect no-ttl
}

func (s *Store) CartThenExpire(ctx context.Context, id string) error {
	key := "cart:" + id
	if err := s.rdb.HSet(ctx, key, "items", 0).Err(); err != nil { // @expect non-atomic-expire
		return err
	}
	return s.rdb.Expire(ctx, key, time.Hour).Err()
}

func RateLimit(ctx context.Context, rdb *redis.Client, ip string, limit int64) (bool, error) {
	key := fmt.Sprintf("ratelimit:%s", ip)
	n, err := rdb.Incr(ctx, key).Result() // @expect non-atomic-expire
	if err != nil {
		return false, err
	}
	if n == 1 {
		rdb.Expire(ctx, key, time.Minute)
	}
	return n <= limit, nil
}

func RateLimitAtomic(ctx context.Context, rdb redis.UniversalClient, ip string, limit int64) (bool, error) {
	key := "ratelimit:" + ip
	var incr *redis.IntCmd
	_, err := rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		incr = pipe.Incr(ctx, key)
		pipe.ExpireNX(ctx, key, time.Minute)
		return nil
	})
	return incr.Val() <= limit, err
}

func PushEvent(ctx context.Context, rdb redis.Cmdable, user string, event string) error {
	pipe := rdb.Pipeline()
	pipe.LPush(ctx, "events:"+user, event)
	pipe.LTrim(ctx, "events:"+user, 0, 99)
	pipe.Expire(ctx, "events:"+user, 7*24*time.Hour)
	_, err := pipe.Exec(ctx)
	return err
}

func PushEventForever(ctx context.Context, rdb redis.Cmdable, user string, event string) error {
	_, err := rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.RPush(ctx, "feed:"+user, event) // @expect no-ttl
		pipe.LTrim(ctx, "feed:"+user, 0, 99)
		return nil
	})
	return err
}

func Follow(ctx context.Context, rdb *redis.ClusterClient, a, b string) error {
	return rdb.SAdd(ctx, "followers:"+b, a).Err() // @expect no-ttl
}

func Score(ctx context.Context, rdb *redis.Client, board, player string, points float64) error {
	return rdb.ZAdd(ctx, "board:"+board, redis.Z{Score: points, Member: player}).Err() // @expect no-ttl
}

func Visits(ctx context.Context, redisClient *redis.Client, page string) error {
	return redisClient.IncrBy(ctx, "visits:"+page, 1).Err() // @expect no-ttl
}

func Raw(ctx context.Context, rdb *redis.Client, id string) error {
	rdb.Do(ctx, "set", "raw:"+id, "1", "EX", 60)
	return rdb.Do(ctx, "hset", "raw:"+id+":h", "a", "1").Err() // @expect no-ttl
}

func Args(ctx context.Context, rdb *redis.Client, id string) error {
	rdb.SetArgs(ctx, "args:"+id, "v", redis.SetArgs{Mode: "NX", TTL: time.Minute})
	return rdb.SetArgs(ctx, "args:"+id, "v", redis.SetArgs{Mode: "NX"}).Err() // @expect no-ttl
}

func Config(ctx context.Context, rdb *redis.Client, name, value string) error {
	return rdb.Set(ctx, "config:"+name, value, 0).Err()
}

func Unrelated(w http.ResponseWriter, r *http.Request, m map[string]string, s *sync.Map) {
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Add("Vary", "Accept")
	r.Header.Set("X", "1")
	s.Store("a", 1)
	m["k"] = "v"
	q := r.URL.Query()
	q.Set("page", "2")
}

func Suppressed(ctx context.Context, rdb *redis.Client, job string) error {
	// keywarden-ignore-next-line no-ttl -- the registry is pruned by the scheduler
	return rdb.SAdd(ctx, "jobs:registry", job).Err()
}
