package moviegen

// The word lists below are ordered roughly from common to rare in film
// titles, because the generator draws from each with a Zipf distribution
// over list position: the first entries dominate, as "love", "night" and
// "man" do in real titles.

var nouns = []string{
	"Man", "Love", "Night", "Girl", "Woman", "Life", "Lady", "World", "House", "Story",
	"Men", "Day", "King", "City", "Heart", "War", "Road", "Time", "Blood", "Dream",
	"Star", "Home", "Family", "Money", "Law", "Kid", "Moon", "Sky", "River", "Secret",
	"Town", "Street", "Wife", "Game", "Devil", "Trail", "Ghost", "Horse", "Island", "Sun",
	"Music", "Mother", "Party", "Father", "Brother", "Honor", "Wind", "Fire", "Rose", "Angel",
	"Gun", "Queen", "Summer", "Ranch", "Train", "Sea", "Dance", "Journey", "Hero", "Prince",
	"Sister", "Justice", "Shadow", "Mountain", "Valley", "Daughter", "Son", "Friend", "Doctor", "Captain",
	"Stranger", "Wedding", "Hunter", "Garden", "Castle", "Dragon", "Escape", "Revenge", "Song", "Cowboy",
	"Spy", "Ship", "Ocean", "Desert", "Winter", "Spring", "Return", "Promise", "Circus", "Hotel",
	"Window", "Bride", "Thief", "Sheriff", "Outlaw", "Kiss", "Voice", "Storm", "Jungle", "Forest",
	"Highway", "Empire", "Planet", "Legend", "Mystery", "Treasure", "Paradise", "Victory", "Silence", "Glory",
	"Passion", "Fear", "Chance", "Danger", "Murder", "Memory", "Miracle", "Mirror", "Crown", "Sword",
	"Bridge", "Tower", "Palace", "Harbor", "Frontier", "Border", "Canyon", "Lake", "Beach", "Lagoon",
	"Weather", "Feather", "Leather", "Panther", "Theater", "Anthem", "Gathering", "Other", "Brotherhood", "Motherland",
	"Boy", "Baby", "Child", "Children", "People", "Soldier", "Pilot", "Sailor", "Detective", "Gangster",
	"Lawyer", "Judge", "Professor", "Student", "Teacher", "Artist", "Dancer", "Singer", "Actor", "Writer",
	"Lion", "Tiger", "Wolf", "Eagle", "Bear", "Fox", "Snake", "Spider", "Shark", "Dog",
	"Cat", "Bird", "Monkey", "Elephant", "Butterfly", "Raven", "Falcon", "Hawk", "Stallion", "Mustang",
	"Diamond", "Gold", "Silver", "Pearl", "Ruby", "Emerald", "Jewel", "Crystal", "Fortune", "Ransom",
	"Letter", "Book", "Picture", "Portrait", "Letterbox", "Map", "Key", "Door", "Room", "Attic",
	"Lighthouse", "Carousel", "Labyrinth", "Observatory", "Monastery", "Cathedral", "Boulevard", "Avenue", "Alley", "Station",
	"Express", "Limited", "Flight", "Voyage", "Odyssey", "Quest", "Mission", "Operation", "Conspiracy", "Affair",
	"Scandal", "Trial", "Verdict", "Sentence", "Prison", "Escapade", "Holiday", "Weekend", "Vacation", "Reunion",
	"Birthday", "Christmas", "Halloween", "Carnival", "Festival", "Parade", "Rodeo", "Roundup", "Showdown", "Stampede",
	"Warrior", "Knight", "Samurai", "Ninja", "Pirate", "Viking", "Gladiator", "Barbarian", "Emperor", "Pharaoh",
	"Machine", "Robot", "Android", "Alien", "Invasion", "Galaxy", "Universe", "Dimension", "Paradox", "Matrix",
	"Zombie", "Vampire", "Werewolf", "Witch", "Monster", "Creature", "Beast", "Demon", "Curse", "Spell",
	"Melody", "Rhapsody", "Serenade", "Symphony", "Ballad", "Blues", "Jazz", "Rhythm", "Harmony", "Tango",
	"Harvest", "Orchard", "Vineyard", "Meadow", "Prairie", "Wilderness", "Glacier", "Volcano", "Avalanche", "Earthquake",
	"Quarterback", "Champion", "Contender", "Rookie", "Underdog", "Comeback", "Knockout", "Touchdown", "Homerun", "Marathon",
}

var adjectives = []string{
	"Big", "Little", "Last", "Black", "Great", "Dark", "Lost", "Wild", "Red", "Golden",
	"Dead", "Secret", "Young", "New", "White", "Blue", "Old", "Long", "Lonely", "Bad",
	"Good", "Strange", "Perfect", "Hidden", "Broken", "Silent", "Crazy", "Happy", "Sweet", "Bitter",
	"Deadly", "Final", "First", "Forbidden", "Fatal", "Eternal", "Endless", "Invisible", "Midnight", "Northern",
	"Southern", "Western", "Eastern", "Savage", "Gentle", "Brave", "Reckless", "Restless", "Fearless", "Beautiful",
	"Dangerous", "Magnificent", "Wonderful", "Mysterious", "Haunted", "Frozen", "Burning", "Falling", "Rising", "Running",
	"Flying", "Dancing", "Singing", "Crying", "Laughing", "Sleeping", "Wandering", "Whispering", "Roaring", "Thundering",
	"Scarlet", "Crimson", "Silver", "Emerald", "Purple", "Grey", "Green", "Yellow", "Painted", "Shattered",
	"Hollow", "Sacred", "Holy", "Unholy", "Wicked", "Innocent", "Guilty", "Naked", "Hungry", "Thirsty",
}

var places = []string{
	"Paris", "London", "Texas", "New York", "Chicago", "Hollywood", "Rome", "Tokyo", "Berlin", "Mexico",
	"Arizona", "Montana", "Dakota", "Broadway", "Manhattan", "Brooklyn", "Vienna", "Venice", "Cairo", "Casablanca",
	"Singapore", "Shanghai", "Hong Kong", "Bombay", "Havana", "Rio", "Alaska", "Yukon", "Oklahoma", "Nevada",
	"Santa Fe", "El Paso", "Tombstone", "Dodge City", "Laredo", "Abilene", "Cheyenne", "Wyoming", "Kansas", "Boston",
	"Miami", "Las Vegas", "San Francisco", "Monte Carlo", "Istanbul", "Moscow", "Warsaw", "Prague", "Madrid", "Lisbon",
}

// accented are title words with diacritics, so accent-insensitive search
// has something to fold: "cafe" finds "Café".
var accented = []string{
	"Café", "Résumé", "Noël", "Señor", "Señorita", "Amélie", "Déjà Vu", "Fiancée", "Naïve", "Piñata",
	"Crème Brûlée", "Jalapeño", "Protégé", "Soirée", "Mañana", "Niño", "Façade", "Mêlée", "Touché", "Exposé",
	"Éclair", "Château", "Über", "Müller", "Björk", "Ångström", "São Paulo", "Bogotá", "Zürich", "Montréal",
	"Québec", "Málaga", "Córdoba", "Kraków", "Łódź", "Reykjavík", "Örebro", "Citroën", "Rendezvous à Paris", "Pokémon",
}

// connectors join two halves of a title: "Love in Paris", "Night of the Hunter".
var connectors = []string{"of", "in", "and", "of", "on", "at", "from", "for", "with", "under", "beyond", "to", "across", "without"}

var firstNames = []string{
	"John", "James", "Robert", "William", "Mary", "Charles", "George", "Michael", "David", "Richard",
	"Joseph", "Thomas", "Frank", "Helen", "Edward", "Elizabeth", "Henry", "Anna", "Margaret", "Walter",
	"Harry", "Jack", "Paul", "Peter", "Dorothy", "Ruth", "Alice", "Louise", "Grace", "Barbara",
	"Susan", "Karen", "Linda", "Nancy", "Betty", "Sarah", "Emma", "Olivia", "Sophia", "Isabella",
	"Daniel", "Matthew", "Anthony", "Mark", "Steven", "Andrew", "Kevin", "Brian", "Jason", "Ryan",
	"Jennifer", "Jessica", "Ashley", "Amanda", "Melissa", "Michelle", "Laura", "Rebecca", "Rachel", "Emily",
	"Lionel", "Wallace", "Buck", "Hoot", "Bebe", "Clark", "Gary", "Cary", "Humphrey", "Bette",
	"Greta", "Marlene", "Ingrid", "Vivien", "Judy", "Lana", "Rita", "Ava", "Audrey", "Gloria",
	"José", "Zoë", "Renée", "Chloé", "Inés", "François", "Søren", "Ramón", "Agnès", "Håkan",
	"Jürgen", "Benoît", "Léa", "Thérèse", "Andrés", "Sebastián", "Łukasz", "Ådne", "Noémie", "Raphaël",
	"Akira", "Toshiro", "Yuki", "Hiro", "Mei", "Wei", "Li", "Chen", "Priya", "Raj",
	"Amitabh", "Shah", "Aishwarya", "Dev", "Omar", "Ahmed", "Fatima", "Leila", "Youssef", "Nadia",
	"Pierre", "Jean", "Claude", "Marcel", "Juliette", "Catherine", "Isabelle", "Gérard", "Alain", "Brigitte",
	"Marco", "Giulia", "Silvana", "Federico", "Vittorio", "Monica", "Luca", "Paolo", "Carla", "Franco",
	"Ivan", "Olga", "Natasha", "Dmitri", "Sergei", "Tatiana", "Boris", "Vera", "Yuri", "Elena",
}

// The surname of a cast member is built from three parts, which gives tens
// of thousands of surnames without listing them.
var (
	surnameStarts  = []string{"Ash", "Bar", "Bel", "Black", "Bran", "Brook", "Cal", "Car", "Chan", "Craw", "Dal", "Dun", "El", "Fair", "Fen", "Gar", "Gold", "Green", "Hal", "Har", "Hart", "Hol", "Kel", "Ken", "Lang", "Mar", "Mil", "Mor", "Nor", "Pem", "Ray", "Red", "Ros", "Sal", "Stan", "Sutter", "Thorn", "Wal", "Wes", "Whit", "Wil", "Win"}
	surnameMiddles = []string{"", "a", "e", "i", "o", "er", "en", "ing", "ow", "ley", "ber", "den", "mer", "ter", "ham", "ver", "wick", "ring", "brook", "ford", "field", "ton", "ridge", "wood", "more", "land", "ston", "burn"}
	surnameEnds    = []string{"", "s", "son", "ton", "ley", "er", "man", "ford", "wood", "field", "ham", "well", "worth", "by", "dale", "stein", "berg", "ez", "ini", "ová", "ić", "sen", "ström", "é"}
)
